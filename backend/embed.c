/*
 * embed.c - build-time tool: turn a file into a C array.
 *   embed INPUT OUTPUT SYMBOL
 * writes `const char SYMBOL[]` (NUL-terminated) and `SYMBOL_len`.
 */
#include <stdio.h>

int main(int argc, char **argv)
{
	FILE *in, *out;
	int c;
	unsigned long n = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: embed INPUT OUTPUT SYMBOL\n");
		return 2;
	}
	in = fopen(argv[1], "rb");
	out = fopen(argv[2], "wb");
	if (!in || !out) {
		perror("embed");
		return 1;
	}
	fprintf(out, "/* generated from %s by embed.c; do not edit */\n", argv[1]);
	fprintf(out, "#include <stddef.h>\nconst char %s[] = {", argv[3]);
	while ((c = getc(in)) != EOF) {
		fprintf(out, "%s%d,", n % 16 ? "" : "\n", c);
		n++;
	}
	fprintf(out, "0\n};\nconst size_t %s_len = %lu;\n", argv[3], n);
	if (ferror(in) || fclose(out) != 0) {
		perror("embed");
		return 1;
	}
	fclose(in);
	return 0;
}
