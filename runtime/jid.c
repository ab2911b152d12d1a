/*
 * jid.c — RFC 7622 checks for JIDs and domainparts, and a strict UTF-8
 * validator.  Shared by vcompc (which checks the JIDs and domains of a
 * spec) and the runtime (which checks the from and to of every stanza a
 * real component writes before a server sees it): one set of rules, so
 * that what the compiler accepts the runtime accepts too.
 *
 * What is checked, and what is not.  RFC 7622 prepares the localpart with
 * the PRECIS UsernameCaseMapped profile and the resourcepart with
 * OpaqueString (RFC 8264/8265), and the domainpart with IDNA2008 (RFC 5890
 * ff.).  Doing that fully needs the Unicode derived-property tables, which
 * vcompc does not carry.  We keep what can be decided from the bytes alone:
 *
 *   - the split at the first '@' before the first '/', then the first '/';
 *   - lengths: every part 1..1023 octets, every DNS label 1..63 octets
 *     (a U-label's A-label, its Punycode form, is what must fit);
 *   - well-formed UTF-8: no overlong forms, no surrogates, nothing above
 *     U+10FFFF, no NUL;
 *   - no control characters (C0, DEL, C1) in any part, no spaces or Unicode
 *     white space in the localpart and the domainpart;
 *   - the characters RFC 7622 §3.3.1 forbids in a localpart: " & ' / : < > @;
 *   - domain labels are NR-LDH (ASCII letters, digits and '-', not at either
 *     end of a label) or contain non-ASCII characters (taken as U-labels),
 *     or the whole domainpart is an IPv4 literal or a bracketed IPv6
 *     literal.
 *
 * Consequently some JIDs that RFC 7622 rejects are accepted here, e.g.
 * "henry\u2163@example.com" (U+2163 has a compatibility decomposition, which
 * PRECIS IdentifierClass disallows) and "\u265a@example.com" (a symbol,
 * also disallowed).  The XMPP server the runtime connects to applies the
 * full rules to every JID it routes; the compiler's job is to catch typos
 * and broken bytes in a spec, and it does not pretend to do more.
 *
 * At run time the same holds.  Prosody (util.jid.prep) and ejabberd
 * (jid:decode) refuse a JID with an empty part, a part over 1023 octets,
 * broken UTF-8, a control character, a forbidden localpart character or a
 * domain that is not a host name, and close a component's whole stream
 * with invalid-from when its from is such a JID; all of that is decided
 * here.  What only PRECIS tables could decide makes a server answer with
 * a stanza error at worst, never cut the stream.
 *
 * Pure functions on byte strings; nothing is allocated.
 */
#include <arpa/inet.h>
#include <string.h>

#include "jid.h"

/*
 * Decodes one UTF-8 sequence at s[0..len).  Returns its length in bytes
 * (1..4) and the code point in *cp, or 0 if the bytes there are not a
 * well-formed sequence (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF, no truncated sequence).
 */
static size_t
utf8_decode(const unsigned char *s, size_t len, unsigned long *cp)
{
	unsigned long c;
	size_t n;

	if (len == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else
		return 0;	/* continuation byte, C0/C1 lead, or F5..FF */
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000))
		return 0;	/* overlong */
	if (c >= 0xd800 && c <= 0xdfff)
		return 0;	/* UTF-16 surrogate */
	if (c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

bool
utf8_valid(const char *s, size_t len, size_t *bad_off)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n;
	unsigned long cp;

	while (i < len) {
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0 || (cp < 0x20 && cp != '\t')) {
			if (bad_off != NULL)
				*bad_off = i;
			return false;
		}
		i += n;
	}
	return true;
}

static bool
is_control(unsigned long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Unicode White_Space beyond ASCII (PropList.txt). */
static bool
is_unicode_space(unsigned long cp)
{
	return cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) ||
	    cp == 0x2028 || cp == 0x2029 || cp == 0x202f || cp == 0x205f ||
	    cp == 0x3000;
}

/* Noncharacters: U+FDD0..U+FDEF and the last two code points of each plane. */
static bool
is_nonchar(unsigned long cp)
{
	return (cp >= 0xfdd0 && cp <= 0xfdef) || (cp & 0xfffe) == 0xfffe;
}

static bool
is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-';
}

static bool
fail(const char **why, size_t *off, const char *reason, size_t at)
{
	*why = reason;
	*off = at;
	return false;
}

/*
 * The whole domainpart made only of digits and dots is read as an IPv4
 * literal: a top-level label is never all-numeric (RFC 3696 §2), so
 * "10.0.0.256" or "1.2.3" is a mistyped address, not a host name.
 */
static bool
all_digits_and_dots(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!(s[i] == '.' || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

/*
 * RFC 3492 §6.1: the bias after each code point that Punycode encodes.
 */
static unsigned long
puny_adapt(unsigned long delta, unsigned long npoints, bool first)
{
	unsigned long k = 0;

	delta = first ? delta / 700 : delta / 2;
	delta += delta / npoints;
	while (delta > ((36 - 1) * 26) / 2) {
		delta /= 36 - 1;
		k += 36;
	}
	return k + (36 * delta) / (delta + 38);
}

/*
 * Does the label u[0..len) (well-formed UTF-8, checked by the caller) fit
 * in a DNS label of 63 octets?  An ASCII label is its own length.  A
 * label with non-ASCII characters is a U-label: what goes into the DNS,
 * and what the 63-octet limit of RFC 5890 §2.3.2.1 applies to, is its
 * A-label, "xn--" and the Punycode of its code points (RFC 3492 §6.3,
 * counting the digits only).  Its UTF-8 length says nothing about that:
 * 22 CJK characters are 66 octets of UTF-8 and may be a 30-octet A-label,
 * which Prosody and ejabberd accept.  The count stops as soon as it is
 * over the limit; at most 64 code points are looked at, so the
 * arithmetic (deltas below 0x110000 * 65) cannot overflow.
 */
static bool
label_fits(const unsigned char *u, size_t len)
{
	unsigned long cps[64], n = 0x80, delta = 0, bias = 72;
	unsigned long m, q, t, k;
	size_t ncp = 0, nbasic = 0, h, out, i, step;

	/* Every code point is at least one octet of either form. */
	for (i = 0; i < len; i += step) {
		if (ncp == 64)
			return false;
		step = utf8_decode(u + i, len - i, &cps[ncp]);
		if (step == 0)
			return false;
		if (cps[ncp++] < 0x80)
			nbasic++;
	}
	if (nbasic == ncp)
		return len <= 63;
	out = 4 + nbasic + (nbasic > 0);	/* "xn--", basic, '-' */
	for (h = nbasic; h < ncp; ) {
		m = (unsigned long)-1;
		for (i = 0; i < ncp; i++)
			if (cps[i] >= n && cps[i] < m)
				m = cps[i];
		delta += (m - n) * (h + 1);
		n = m;
		for (i = 0; i < ncp; i++) {
			if (cps[i] < n)
				delta++;
			if (cps[i] != n)
				continue;
			for (q = delta, k = 36;; k += 36) {
				t = k <= bias ? 1 : k >= bias + 26 ? 26 :
				    k - bias;
				if (q < t)
					break;
				out++;
				q = (q - t) / (36 - t);
			}
			out++;
			if (out > 63)
				return false;
			bias = puny_adapt(delta, h + 1, h == nbasic);
			delta = 0;
			h++;
		}
		delta++;
		n++;
	}
	return out <= 63;
}

/* Checks s[0..len): the domainpart without a terminating NUL. */
static bool
check_domain(const char *s, size_t len, const char **why, size_t *off)
{
	const unsigned char *u = (const unsigned char *)s;
	char tmp[INET6_ADDRSTRLEN + 1];
	size_t i, label, n;
	unsigned long cp;

	if (len == 0)
		return fail(why, off, "domainpart is empty", 0);
	if (len > JID_MAX_PART)
		return fail(why, off, "domainpart is longer than 1023 octets",
			    JID_MAX_PART);

	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		if (close == NULL)
			return fail(why, off,
				    "IPv6 literal has no closing ']'", len);
		if ((size_t)(close - s) != len - 1)
			return fail(why, off,
				    "characters follow the IPv6 literal's ']'",
				    (size_t)(close - s) + 1);
		n = len - 2;
		if (n == 0 || n >= sizeof tmp)
			return fail(why, off, "not a valid IPv6 address", 1);
		memcpy(tmp, s + 1, n);
		tmp[n] = '\0';
		struct in6_addr a6;
		if (inet_pton(AF_INET6, tmp, &a6) != 1)
			return fail(why, off, "not a valid IPv6 address", 1);
		return true;
	}

	if (s[len - 1] == '.')
		return fail(why, off, "domainpart ends with a dot", len - 1);

	if (all_digits_and_dots(s, len)) {
		struct in_addr a4;
		if (len >= sizeof tmp)
			return fail(why, off, "not a valid IPv4 address", 0);
		memcpy(tmp, s, len);
		tmp[len] = '\0';
		if (inet_pton(AF_INET, tmp, &a4) != 1)
			return fail(why, off,
				    "all-numeric domainpart is not a valid IPv4 address",
				    0);
		return true;
	}

	/* Labels, left to right, so the offset names the first problem. */
	label = 0;
	for (i = 0; i <= len; ) {
		if (i == len || s[i] == '.') {
			if (i == label)
				return fail(why, off,
					    "domainpart has an empty label", i);
			/* The offset: the 64th octet, or for a U-label
			 * shorter than that in UTF-8, the label. */
			if (!label_fits(u + label, i - label))
				return fail(why, off,
					    "domain label is longer than 63 octets",
					    i - label > 63 ? label + 63 : label);
			if (s[i - 1] == '-')
				return fail(why, off,
					    "domain label ends with a hyphen",
					    i - 1);
			label = i + 1;
			i++;
			continue;
		}
		if (u[i] < 0x80) {
			if (u[i] == ' ')
				return fail(why, off,
					    "domainpart contains a space", i);
			if (is_control(u[i]))
				return fail(why, off,
					    "domainpart contains a control character",
					    i);
			if (u[i] == '@')
				return fail(why, off,
					    "domainpart contains '@'", i);
			if (u[i] == '/')
				return fail(why, off,
					    "domainpart contains '/'", i);
			if (!is_ldh(u[i]))
				return fail(why, off,
					    "domain label contains a character other than a letter, digit or '-'",
					    i);
			if (u[i] == '-' && i == label)
				return fail(why, off,
					    "domain label starts with a hyphen",
					    i);
			i++;
			continue;
		}
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0)
			return fail(why, off, "domainpart is not valid UTF-8",
				    i);
		if (is_control(cp))
			return fail(why, off,
				    "domainpart contains a control character",
				    i);
		if (is_unicode_space(cp))
			return fail(why, off, "domainpart contains a space",
				    i);
		if (is_nonchar(cp))
			return fail(why, off,
				    "domainpart contains a Unicode noncharacter",
				    i);
		/* Taken as part of a U-label.  Whether the code point is
		 * PVALID under IDNA2008 needs the tables (see the top of the
		 * file); the hyphen rules above hold for U-labels too
		 * (RFC 5891 §4.2.3.1). */
		i += n;
	}
	return true;
}

bool
jid_check_domain(const char *s, const char **why, size_t *off)
{
	return check_domain(s, strlen(s), why, off);
}

/*
 * The rules the localpart and the resourcepart share (length, UTF-8, no
 * controls, no noncharacters), with each part's own messages; the
 * localpart also refuses spaces and RFC 7622's forbidden ASCII
 * (OpaqueString, for the resource, allows spaces, '@' and '/').
 */
struct part_rules {
	bool local;
	const char *empty, *too_long, *utf8, *control, *nonchar;
};

static const struct part_rules localpart = {
	true, "localpart is empty", "localpart is longer than 1023 octets",
	"localpart is not valid UTF-8",
	"localpart contains a control character",
	"localpart contains a Unicode noncharacter",
};
static const struct part_rules resourcepart = {
	false, "resourcepart is empty",
	"resourcepart is longer than 1023 octets",
	"resourcepart is not valid UTF-8",
	"resourcepart contains a control character",
	"resourcepart contains a Unicode noncharacter",
};

/* Part s[0..len), starting at byte `base` of the JID. */
static bool
check_part(const struct part_rules *r, const char *s, size_t len,
	   size_t base, const char **why, size_t *off)
{
	const unsigned char *u = (const unsigned char *)s;
	unsigned long cp;
	size_t n;

	if (len == 0)
		return fail(why, off, r->empty, base);
	if (len > JID_MAX_PART)
		return fail(why, off, r->too_long, base + JID_MAX_PART);
	for (size_t i = 0; i < len; i += n) {
		n = utf8_decode(u + i, len - i, &cp);
		if (n == 0)
			return fail(why, off, r->utf8, base + i);
		if (r->local && (cp == ' ' || is_unicode_space(cp)))
			return fail(why, off, "localpart contains a space",
				    base + i);
		if (is_control(cp))
			return fail(why, off, r->control, base + i);
		if (r->local && cp < 0x80 &&
		    strchr("\"&'/:<>@", (int)cp) != NULL)
			return fail(why, off,
				    "localpart contains one of the forbidden characters \" & ' / : < > @",
				    base + i);
		if (is_nonchar(cp))
			return fail(why, off, r->nonchar, base + i);
	}
	return true;
}

bool
jid_check_jid(const char *s, const char **why, size_t *off)
{
	size_t len = strlen(s);
	const char *slash = memchr(s, '/', len);
	size_t dend = slash != NULL ? (size_t)(slash - s) : len;
	const char *at = memchr(s, '@', dend);
	size_t dstart = 0;

	/* RFC 7622 §3.1: split on the separators before anything else. */
	if (at != NULL) {
		if (!check_part(&localpart, s, (size_t)(at - s), 0, why, off))
			return false;
		dstart = (size_t)(at - s) + 1;
	}
	if (!check_domain(s + dstart, dend - dstart, why, off)) {
		*off += dstart;
		return false;
	}
	if (slash != NULL &&
	    !check_part(&resourcepart, slash + 1, len - dend - 1,
	    dend + 1, why, off))
		return false;
	return true;
}
