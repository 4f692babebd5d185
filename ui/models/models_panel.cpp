#include "models/models_panel.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QTabWidget>
#include <QToolButton>
#include <QVBoxLayout>

#include "adaptive_splitter.h"
#include "models/download_queue.h"
#include "models/downloads_view.h"
#include "models/engine_runner.h"
#include "models/library_view.h"
#include "models/repo_view.h"
#include "models/search_view.h"

namespace moe::ui {

using namespace models;

namespace {
// Below this width the search results and the repository's files are stacked, each full width.
constexpr int kFinderSideBySidePx = 900;
}  // namespace

ModelsPanel::ModelsPanel(QWidget* parent) : QWidget(parent) {
    {
        QSettings settings;
        settings_ = HubSettings::load(settings);
    }
    // Next to the app, as the build lays it out (bin/moe-workbench + bin/moe-engine).
    program_ = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("moe-engine"));

    search_ = new SearchView(this);
    repository_ = new RepositoryView(this);
    queue_ = new DownloadQueue(this);
    downloads_ = new DownloadsView(queue_, this);
    library_ = new LibraryView(this);
    library_->setFolders(settings_.folders);

    // Side by side when the dock is wide, search above the repository when it is not.
    auto* finder = new AdaptiveSplitter(kFinderSideBySidePx, this);
    finder->setObjectName(QStringLiteral("modelsFinder"));
    finder->addWidget(search_);
    finder->addWidget(repository_);
    finder->setStretchFactor(0, 2);
    finder->setStretchFactor(1, 3);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(finder, QStringLiteral("Find"));
    tabs_->addTab(downloads_, QStringLiteral("Downloads"));
    tabs_->addTab(library_, QStringLiteral("Library"));
    auto* layout = new QVBoxLayout(this);
    layout->addWidget(buildSettingsBox());
    layout->addWidget(tabs_, 1);

    connect(search_, &SearchView::repositoryActivated, repository_, [this](const QString& repo) { repository_->open(repo); });
    connect(repository_, &RepositoryView::downloadRequested, this,
            [this](const QString& repo, const QString& revision, const QStringList& includes) {
                queue_->enqueue(repo, revision, includes);
                tabs_->setCurrentWidget(downloads_);
            });
    connect(queue_, &DownloadQueue::jobFinished, library_, [this] { library_->rescan(); });
    connect(library_, &LibraryView::loadRequested, this, &ModelsPanel::loadRequested);
    connect(library_, &LibraryView::folderAdded, this, [this](const QString& folder) {
        if (!settings_.folders.contains(folder)) settings_.folders << folder;
        persist();
    });
    applyRunner();
}

ModelsPanel::~ModelsPanel() = default;

QWidget* ModelsPanel::buildSettingsBox() {
    // Folded by default: most people never change them, and a laptop screen needs the height for
    // the results. Error messages that need a setting name it ("the Token field of the Hub settings").
    auto* toggle = new QToolButton(this);
    toggle->setObjectName(QStringLiteral("hubSettingsToggle"));
    toggle->setText(tr("Hub settings: address, access token, download folder"));
    toggle->setCheckable(true);
    toggle->setAutoRaise(true);
    toggle->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    toggle->setArrowType(Qt::RightArrow);
    auto* box = new QGroupBox(tr("Hub settings"), this);
    box->setObjectName(QStringLiteral("hubSettings"));
    box->hide();
    connect(toggle, &QToolButton::toggled, box, [toggle, box](bool open) {
        toggle->setArrowType(open ? Qt::DownArrow : Qt::RightArrow);
        box->setVisible(open);
    });
    endpoint_ = new QLineEdit(settings_.endpoint, box);
    endpoint_->setPlaceholderText(QStringLiteral("from HF_ENDPOINT, else https://huggingface.co"));
    token_ = new QLineEdit(settings_.token, box);
    token_->setEchoMode(QLineEdit::Password);  // masked; sent to the child as HF_TOKEN only
    token_->setPlaceholderText(QStringLiteral("from HF_TOKEN, else anonymous (needed for gated models)"));
    cache_dir_ = new QLineEdit(settings_.cache_dir, box);
    cache_dir_->setPlaceholderText(QStringLiteral("from HF_HUB_CACHE / HF_HOME, else ~/.cache/huggingface/hub"));
    auto* browse = new QPushButton(QStringLiteral("…"), box);
    auto* cache_row = new QHBoxLayout;
    cache_row->addWidget(cache_dir_, 1);
    cache_row->addWidget(browse);
    auto* form = new QFormLayout(box);
    form->addRow(tr("Endpoint"), endpoint_);
    form->addRow(tr("Token"), token_);
    form->addRow(tr("Cache"), cache_row);
    endpoint_->setToolTip(tr("The hub's address (a mirror or a company hub); empty: HF_ENDPOINT, else huggingface.co"));
    token_->setToolTip(tr("An access token from your hub account, for gated models and higher rate limits"));
    cache_dir_->setToolTip(tr("Where downloaded models go (the huggingface_hub cache layout)"));
    for (QLineEdit* field : {endpoint_, token_, cache_dir_})
        connect(field, &QLineEdit::editingFinished, this, &ModelsPanel::applySettingsFields);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, QStringLiteral("Hub cache folder"), cache_dir_->text());
        if (dir.isEmpty()) return;
        cache_dir_->setText(dir);
        applySettingsFields();
    });
    auto* column = new QWidget(this);
    auto* layout = new QVBoxLayout(column);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addWidget(toggle, 0, Qt::AlignLeft);
    layout->addWidget(box);
    return column;
}

void ModelsPanel::applySettingsFields() {
    const QString endpoint = endpoint_->text().trimmed(), token = token_->text().trimmed(), cache = cache_dir_->text().trimmed();
    if (endpoint == settings_.endpoint && token == settings_.token && cache == settings_.cache_dir) return;
    setHubSettings(endpoint, token, cache);
}

void ModelsPanel::setEngineProgram(const QString& path) {
    program_ = path;
    applyRunner();
    library_->rescan();
}

void ModelsPanel::setHubSettings(const QString& endpoint, const QString& token, const QString& cache_dir) {
    const bool cache_changed = cache_dir != settings_.cache_dir;
    settings_.endpoint = endpoint;
    settings_.token = token;
    settings_.cache_dir = cache_dir;
    endpoint_->setText(endpoint);
    token_->setText(token);
    cache_dir_->setText(cache_dir);
    persist();
    applyRunner();
    if (cache_changed) library_->rescan();
}

void ModelsPanel::addLibraryFolder(const QString& folder) {
    if (folder.isEmpty() || settings_.folders.contains(folder)) return;
    settings_.folders << folder;
    library_->setFolders(settings_.folders);
    persist();
    library_->rescan();
}

void ModelsPanel::persist() {
    QSettings settings;
    settings_.save(settings);
}

// Every view starts its children with the same program and hub environment; running downloads keep
// the settings they started with (a change applies to the next start or resume).
void ModelsPanel::applyRunner() {
    const QProcessEnvironment base = QProcessEnvironment::systemEnvironment();
    EngineRunner runner{program_, settings_.environment(base), settings_.cache_dir};
    search_->setRunner(runner);
    repository_->setRunner(runner);
    library_->setRunner(runner);
    queue_->setEngine(program_, runner.environment, settings_.cache_dir, settings_.cacheRoot(base));
}

}  // namespace moe::ui
