/*
 * jid.h — RFC 7622 checks for JIDs and domainparts, and a strict UTF-8
 * validator (jid.c).  Used by vcompc on the JIDs of a spec and by the
 * runtime on the from and to of stanzas before a server sees them.
 *
 * On failure the checks return false and set *why to a static English
 * phrase ("domainpart is longer than 1023 octets", ...) and *off to the
 * byte offset of the offending character.  s must be NUL-terminated.
 */
#ifndef VCOMP_JID_H
#define VCOMP_JID_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 7622 §3.1: every part of a JID is 1..1023 octets. */
#define JID_MAX_PART	1023

bool jid_check_domain(const char *s, const char **why, size_t *off);
bool jid_check_jid(const char *s, const char **why, size_t *off);
/* True if s is valid UTF-8 without NUL or C0 controls other than tab. */
bool utf8_valid(const char *s, size_t len, size_t *bad_off);

#endif /* VCOMP_JID_H */
