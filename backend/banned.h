/*
 * banned.h - functions this project does not call (after git's banned.h).
 * Included last by buf.h, after the system headers that declare them, so a
 * use anywhere in the project fails to compile.
 */
#ifndef ARCHIVEFS_BANNED_H
#define ARCHIVEFS_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_in_archivefs

#undef strcpy
#define strcpy(x, y) BANNED(strcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy)
#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok)
#undef atoi
#define atoi(x) BANNED(atoi)
#undef atol
#define atol(x) BANNED(atol)
#undef gets
#define gets(x) BANNED(gets)

#endif
