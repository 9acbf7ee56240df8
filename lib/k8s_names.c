// SPDX-License-Identifier: Apache-2.0
#include <ctype.h>
#include <string.h>

#include "k8s_names.h"

static bool pf_lower_alnum(char c)
{
	return islower((unsigned char)c) || isdigit((unsigned char)c);
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? over len characters */
static bool pf_dns_part_ok(const char *s, size_t len)
{
	if (!len || !pf_lower_alnum(s[0]) || !pf_lower_alnum(s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!pf_lower_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

bool pf_k8s_dns_subdomain_ok(const char *s, size_t len)
{
	size_t start = 0;

	if (!len || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.')
			continue;
		if (!pf_dns_part_ok(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

bool pf_k8s_dns_label_ok(const char *s)
{
	return strlen(s) <= 63 && pf_dns_part_ok(s, strlen(s));
}

bool pf_k8s_label_name_ok(const char *s, size_t len)
{
	if (!len || len > 63 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_.", s[i]))
			return false;
	return true;
}

bool pf_k8s_port_name_ok(const char *s)
{
	size_t len = strlen(s);
	bool letter = false;

	if (!len || len > 15 || s[0] == '-' || s[len - 1] == '-' || strstr(s, "--"))
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!pf_lower_alnum(s[i]) && s[i] != '-')
			return false;
		letter |= islower((unsigned char)s[i]) != 0;
	}
	return letter;
}
