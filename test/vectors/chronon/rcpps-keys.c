/*
 * Measures the one hardware-dependent step of HotSpot's x86-64 Math.pow stub (Intel LIBM, OpenJDK
 * src/hotspot/cpu/x86/macroAssembler_x86_pow.cpp): the table index it derives from RCPPS, an approximate reciprocal
 * whose exact bits the x86 manuals leave to the implementation (Intel and AMD differ).
 *
 * The stub takes the top 23 mantissa bits of x as a float m in [1, 2), computes RCPPS(m) * 1.4453125 in single
 * precision (MULSS), adds 0x2000 to the float's bits and keeps bits 14..23: the index `key`, from which it reads
 * both B ~ 1.4453125/m and its table entry. This program runs those three instructions for every m and prints, as
 * JSON, the first cell of the top 12 mantissa bits at which each key begins (RCPPS here depends on those 12 bits
 * only; the program checks that, and that the keys step down one at a time).
 *
 *   cc -O2 -o /tmp/rcpps-keys test/vectors/chronon/rcpps-keys.c && /tmp/rcpps-keys > test/vectors/chronon/rcpps-keys.json
 */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t key_of(uint32_t mantissa) {
  uint32_t bits = 0x3f800000u | mantissa;
  float m, p;
  memcpy(&m, &bits, 4);
  __m128 v = _mm_mul_ss(_mm_rcp_ps(_mm_set1_ps(m)), _mm_set_ss(1.4453125f));
  p = _mm_cvtss_f32(v);
  uint32_t pb;
  memcpy(&pb, &p, 4);
  return ((pb + 0x2000u) & 0xffc000u) >> 14;
}

int main(void) {
  static uint32_t cell_key[4096];
  for (uint32_t m = 0; m < (1u << 23); m++) {
    uint32_t k = key_of(m);
    uint32_t cell = m >> 11;
    if ((m & 0x7ff) == 0) cell_key[cell] = k;
    else if (cell_key[cell] != k) { fprintf(stderr, "key depends on more than the top 12 mantissa bits at %u\n", m); return 1; }
  }
  char cpu[256] = "unknown";
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (f) {
    char line[512];
    while (fgets(line, sizeof line, f)) {
      if (strncmp(line, "model name", 10) == 0) { char *c = strchr(line, ':'); if (c) { snprintf(cpu, sizeof cpu, "%s", c + 2); cpu[strcspn(cpu, "\n")] = 0; } break; }
    }
    fclose(f);
  }
  printf("{\"generator\":\"test/vectors/chronon/rcpps-keys.c\",\"cpu\":\"%s\",\"firstKey\":%u,\"starts\":[", cpu, cell_key[0]);
  uint32_t expect = cell_key[0];
  int n = 0;
  for (uint32_t cell = 0; cell < 4096; cell++) {
    if (cell == 0 || cell_key[cell] != cell_key[cell - 1]) {
      if (cell_key[cell] != expect) { fprintf(stderr, "keys do not step down by one at cell %u\n", cell); return 1; }
      printf(n++ ? ",%u" : "%u", cell);
      expect--;
    }
  }
  printf("]}\n");
  return 0;
}
