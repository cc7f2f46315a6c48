/* kextsim: XNU-shaped <sys/queue.h>, the singly-linked list (SLIST) subset
 * that <sys/sysctl.h> needs. Same member names (slh_first, sle_next). */
#ifndef _KEXTSIM_SYS_QUEUE_H_
#define _KEXTSIM_SYS_QUEUE_H_

#define SLIST_HEAD(name, type)                                                                                         \
    struct name {                                                                                                      \
        struct type *slh_first;                                                                                        \
    }
#define SLIST_HEAD_INITIALIZER(head)                                                                                   \
    {                                                                                                                  \
        0                                                                                                              \
    }
#define SLIST_ENTRY(type)                                                                                              \
    struct {                                                                                                           \
        struct type *sle_next;                                                                                         \
    }
#define SLIST_EMPTY(head) ((head)->slh_first == 0)
#define SLIST_FIRST(head) ((head)->slh_first)
#define SLIST_NEXT(elm, field) ((elm)->field.sle_next)
#define SLIST_FOREACH(var, head, field) for ((var) = SLIST_FIRST(head); (var); (var) = SLIST_NEXT(var, field))

#endif
