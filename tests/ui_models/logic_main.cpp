// One executable for the pure-logic tests of the Models panel (each part is a QObject test class).
#include <QApplication>

int run_json_lines_tests(int argc, char** argv);
int run_memory_estimate_tests(int argc, char** argv);
int run_download_state_tests(int argc, char** argv);

int main(int argc, char** argv) {
    QApplication app(argc, argv);  // EstimateView is a widget
    int failures = 0;
    failures += run_json_lines_tests(argc, argv);
    failures += run_memory_estimate_tests(argc, argv);
    failures += run_download_state_tests(argc, argv);
    return failures;
}
