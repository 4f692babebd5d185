#include <stdio.h>

/* Greatest common divisor by Euclid's algorithm. */
static unsigned gcd(unsigned a, unsigned b) {
    while (b != 0) {
        unsigned t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int main(void) {
    printf("%u\n", gcd(1071, 462));
    return 0;
}
