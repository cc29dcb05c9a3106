/* Reference GEMM throughput: OpenBLAS called directly through CBLAS, row-major, no transposes,
 * C = A·B with A m×k, B k×n. Prints one line per precision and size:
 *   <sgemm|dgemm> <m> <k> <n> <GFLOP/s>
 * GFLOP/s = 2·m·n·k / best time over repeated runs (each size is repeated for at least 1 s and 6 calls
 * after one warm-up call). Run with OPENBLAS_NUM_THREADS=1 for the single-threaded figure. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static const int sizes[][3] = {{128, 784, 256}, {256, 256, 128}, {512, 512, 512}, {1024, 1024, 1024}};

int main(void) {
    for (int precision = 0; precision < 2; precision++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            int m = sizes[s][0], k = sizes[s][1], n = sizes[s][2];
            size_t elem = precision == 0 ? sizeof(float) : sizeof(double);
            void *a = malloc(elem * m * k), *b = malloc(elem * k * n), *c = malloc(elem * m * n);
            for (int i = 0; i < m * k; i++) {
                double v = (double)((i * 7919) % 1000) / 1000.0 - 0.5;
                if (precision == 0) ((float *)a)[i] = (float)v; else ((double *)a)[i] = v;
            }
            for (int i = 0; i < k * n; i++) {
                double v = (double)((i * 104729) % 1000) / 1000.0 - 0.5;
                if (precision == 0) ((float *)b)[i] = (float)v; else ((double *)b)[i] = v;
            }
            double best = 1e30, start = now();
            int runs = 0;
            for (;;) {
                double t0 = now();
                if (precision == 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
                else
                    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, k, b, n, 0.0, c, n);
                double t = now() - t0;
                if (runs++ > 0 && t < best) best = t; /* the first call is a warm-up */
                if (runs > 5 && now() - start > 1.0) break;
            }
            printf("%s %d %d %d %.2f\n", precision == 0 ? "sgemm" : "dgemm", m, k, n, 2.0 * m * n * k / best / 1e9);
            free(a); free(b); free(c);
        }
    }
    return 0;
}
