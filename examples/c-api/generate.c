/* generate.c - the quamba C API in 40 lines: open a model.qmb, decode a
 * continuation of a byte-level prompt (greedy, or sampled with top-k 40 and
 * top-p 0.9 when a temperature is given), print it.
 *   generate model.qmb "It is a truth" [tokens] [auto|cuda|cpu] [temperature]
 */
#include <quamba/runtime.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s model.qmb PROMPT [TOKENS] [auto|cuda|cpu] [TEMPERATURE]\n",
            argv[0]);
    return 2;
  }
  int64_t count = (int64_t)strlen(argv[2]);
  int64_t steps = argc > 3 ? atoll(argv[3]) : 32;
  quamba_session *session = NULL;
  if (count == 0 || steps < 0 ||
      quamba_session_open(argv[1], argc > 4 ? argv[4] : "auto", &session)) {
    fprintf(stderr, "generate: %s\n", count == 0 ? "empty prompt" : quamba_last_error());
    return 1;
  }
  if (quamba_session_vocab_size(session) != 256) {
    fprintf(stderr, "generate: this example speaks bytes; the model's vocabulary is not 256\n");
    quamba_session_close(session);
    return 1;
  }
  int32_t *prompt = malloc(sizeof(int32_t) * count), *out = malloc(sizeof(int32_t) * (steps + 1));
  for (int64_t i = 0; i < count; ++i)
    prompt[i] = (unsigned char)argv[2][i];
  float temperature = argc > 5 ? (float)atof(argv[5]) : 0.0f;
  int rc = quamba_generate(session, prompt, count, steps, temperature, 40, 0.9f, 1, out);
  if (rc)
    fprintf(stderr, "generate: %s\n", quamba_last_error());
  else {
    printf("[%s] %s", quamba_session_device(session), argv[2]);
    for (int64_t i = 0; i < steps; ++i)
      putchar(out[i]);
    putchar('\n');
  }
  free(prompt);
  free(out);
  quamba_session_close(session);
  return rc;
}
