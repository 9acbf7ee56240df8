// SPDX-License-Identifier: Apache-2.0
/* --check-health ADDR:PORT: the exec probe of the controller's Deployment.
 * Its health server listens on loopback only, which kubelet's httpGet
 * cannot reach in a pod that is not on the host network. */
#include <stdio.h>
#include <curl/curl.h>

#include "controller.h"

/* A probe has its own timeout; answer well inside the usual 1 s default. */
#define PROBE_TIMEOUT_MS 900L

/* The body (a small JSON status) goes to stdout for whoever runs it. */
static size_t probe_body(char *data, size_t size, size_t n, void *ctx)
{
	(void)ctx;
	return fwrite(data, size, n, stdout) * size;
}

int controller_check_health(const char *addr)
{
	char url[512], errbuf[CURL_ERROR_SIZE] = "";
	long status = 0;
	CURLcode rc;
	CURL *c;

	snprintf(url, sizeof(url), "http://%s/healthz", addr);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(c = curl_easy_init())) {
		fprintf(stderr, "podfence-controller: --check-health: cannot start libcurl\n");
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, PROBE_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, probe_body);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	if (rc != CURLE_OK) {
		fprintf(stderr, "podfence-controller: --check-health %s: %s\n", url,
			errbuf[0] ? errbuf : curl_easy_strerror(rc));
		return 1;
	}
	putchar('\n');
	if (status != 200) {
		fprintf(stderr, "podfence-controller: --check-health %s: HTTP %ld\n", url, status);
		return 1;
	}
	return 0;
}
