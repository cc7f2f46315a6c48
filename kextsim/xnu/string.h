/* kextsim: XNU-shaped kernel <string.h> (osfmk/libsa/string.h subset). */
#ifndef _KEXTSIM_STRING_H_
#define _KEXTSIM_STRING_H_
#include <sys/types.h>
__BEGIN_DECLS
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *s, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
size_t strlcpy(char *dst, const char *src, size_t size);
size_t strlcat(char *dst, const char *src, size_t size);
__END_DECLS
#endif
