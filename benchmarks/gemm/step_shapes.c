/* The GEMM ceiling of one training step of the benchmark MLP (784-256-256-10, batch 128, float32):
 * the eight sgemm calls a forward + backward pass makes, with the shapes and transposes Saddle uses
 * (row-major; forward X·Wᵀ, weight gradients gᵀ·X, input gradients g·W; the first layer's input
 * gradient is never formed), timed from C with OpenBLAS on one thread, best of 30 interleaved rounds.
 * Prints one JSON object: microseconds per call and GFLOP/s per shape, the step's GEMM flops, and the
 * steps/s a step made of nothing but these calls would reach.
 * Build: cc -O2 step_shapes.c $(pkg-config --cflags --libs openblas); run with OPENBLAS_NUM_THREADS=1. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

typedef struct { const char *name; int ta, tb, m, n, k; } Shape;

int main(void) {
    const Shape s[] = {
        {"forward1", 0, 1, 128, 256, 784}, {"forward2", 0, 1, 128, 256, 256}, {"forward3", 0, 1, 128, 10, 256},
        {"weightGrad1", 1, 0, 256, 784, 128}, {"weightGrad2", 1, 0, 256, 256, 128}, {"weightGrad3", 1, 0, 10, 256, 128},
        {"inputGrad2", 0, 0, 128, 256, 256}, {"inputGrad3", 0, 0, 128, 256, 10},
    };
    const int count = sizeof s / sizeof s[0], size = 1 << 20;
    float *a = malloc(sizeof(float) * size), *b = malloc(sizeof(float) * size), *c = malloc(sizeof(float) * size);
    if (!a || !b || !c) return 1;
    srand(1);
    for (int i = 0; i < size; i++) { a[i] = rand() / (float)RAND_MAX - 0.5f; b[i] = rand() / (float)RAND_MAX - 0.5f; c[i] = 0; }
    double best[8];
    for (int i = 0; i < count; i++) best[i] = 1e9;
    for (int round = 0; round < 30; round++) {
        for (int i = 0; i < count; i++) {
            Shape x = s[i];
            int lda = x.ta ? x.m : x.k, ldb = x.tb ? x.k : x.n;
            double t0 = now();
            for (int it = 0; it < 20; it++)
                cblas_sgemm(CblasRowMajor, x.ta ? CblasTrans : CblasNoTrans, x.tb ? CblasTrans : CblasNoTrans, x.m, x.n,
                            x.k, 1, a, lda, b, ldb, 0, c, x.n);
            double t = (now() - t0) / 20;
            if (t < best[i]) best[i] = t;
        }
    }
    double total = 0, flopsTotal = 0;
    printf("{\"shapes\": {");
    for (int i = 0; i < count; i++) {
        double flops = 2.0 * s[i].m * s[i].n * s[i].k;
        total += best[i];
        flopsTotal += flops;
        printf("%s\"%s\": {\"us\": %.1f, \"gflops\": %.1f}", i ? ", " : "", s[i].name, best[i] * 1e6, flops / best[i] * 1e-9);
    }
    printf("}, \"stepGemmUs\": %.1f, \"stepGemmFlops\": %.0f, \"ceilingStepsPerSecond\": %.1f}\n", total * 1e6, flopsTotal,
           1 / total);
    return 0;
}
