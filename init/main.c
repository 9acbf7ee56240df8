// SPDX-License-Identifier: Apache-2.0
/* podfence-init: flags, then prepare the node, wait for ipamd, install. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init.h"
#include "log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: podfence-init [options]\n"
		"Prepares the node, waits until podfence-ipamd answers healthy, then installs\n"
		"podfence-cni and 10-podfence.conflist (conflist last).\n"
		"  --cni-bin-dir DIR      where the plugin goes (/opt/cni/bin)\n"
		"  --cni-conf-dir DIR     where the conflist goes (/etc/cni/net.d)\n"
		"  --plugin PATH          the podfence-cni binary to install\n"
		"                         (default: podfence-cni beside this program)\n"
		"  --ipamd-socket PATH    (/run/podfence/ipamd.sock)\n"
		"  --agent-socket PATH    written into the conflist (/run/podfence/agent.sock)\n"
		"  --plugin-log PATH      the plugin's log file (/var/log/podfence/plugin.log)\n"
		"  --run-dir DIR          sockets, made 0700 (/run/podfence)\n"
		"  --log-dir DIR          logs (/var/log/podfence)\n"
		"  --bpffs DIR            mounted if it is not bpffs yet (/sys/fs/bpf)\n"
		"  --mtu N                pod interface MTU (1500)\n"
		"  --cni-version V        conflist cniVersion (1.0.0)\n"
		"  --enable-ipv6          also enable IPv6 forwarding\n"
		"  --wait-timeout S       how long to wait for ipamd (120)\n"
		"  --log-file PATH        JSON lines to PATH instead of text on stderr\n");
}

/* podfence-cni beside our own executable: the image ships them together. */
static const char *pf_default_plugin(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n < 0)
		return "podfence-cni";
	self[n] = 0;
	snprintf(buf, len, "%s/podfence-cni", dirname(self));
	return buf;
}

static int pf_parse_uint(const char *flag, const char *text, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno || end == text || *end || v > max) {
		fprintf(stderr, "podfence-init: %s: \"%s\" is not a number from 0 to %u\n", flag,
			text, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int pf_ensure_dir(const char *path)
{
	if (mkdir(path, 0755) && errno != EEXIST) {
		int err = -errno;

		pf_err("cannot create %s: %s", path, strerror(errno));
		return err;
	}
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_BIN = 1, O_CONF, O_PLUGIN, O_IPAMD, O_AGENT, O_PLOG, O_RUN, O_LOGDIR,
	       O_BPFFS, O_MTU, O_VER, O_V6, O_WAIT, O_LOG, O_HELP };
	static const struct option longopts[] = {
		{ "cni-bin-dir", required_argument, 0, O_BIN },
		{ "cni-conf-dir", required_argument, 0, O_CONF },
		{ "plugin", required_argument, 0, O_PLUGIN },
		{ "ipamd-socket", required_argument, 0, O_IPAMD },
		{ "agent-socket", required_argument, 0, O_AGENT },
		{ "plugin-log", required_argument, 0, O_PLOG },
		{ "run-dir", required_argument, 0, O_RUN },
		{ "log-dir", required_argument, 0, O_LOGDIR },
		{ "bpffs", required_argument, 0, O_BPFFS },
		{ "mtu", required_argument, 0, O_MTU },
		{ "cni-version", required_argument, 0, O_VER },
		{ "enable-ipv6", no_argument, 0, O_V6 },
		{ "wait-timeout", required_argument, 0, O_WAIT },
		{ "log-file", required_argument, 0, O_LOG },
		{ "help", no_argument, 0, O_HELP },
		{ 0 },
	};
	char plugin_buf[PATH_MAX];
	const char *log_file = NULL;
	struct pf_init_opts o = {
		.cni_bin_dir = "/opt/cni/bin",
		.cni_conf_dir = "/etc/cni/net.d",
		.plugin_src = pf_default_plugin(plugin_buf, sizeof(plugin_buf)),
		.run_dir = "/run/podfence",
		.log_dir = "/var/log/podfence",
		.bpffs = "/sys/fs/bpf",
		.wait_timeout_s = 120,
		.conflist = {
			.cni_version = "1.0.0",
			.network_name = "podfence",
			.ipamd_socket = "/run/podfence/ipamd.sock",
			.agent_socket = "/run/podfence/agent.sock",
			.log_file = "/var/log/podfence/plugin.log",
			.mtu = 1500,
		},
	};
	int c, err;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_BIN: o.cni_bin_dir = optarg; break;
		case O_CONF: o.cni_conf_dir = optarg; break;
		case O_PLUGIN: o.plugin_src = optarg; break;
		case O_IPAMD: o.conflist.ipamd_socket = optarg; break;
		case O_AGENT: o.conflist.agent_socket = optarg; break;
		case O_PLOG: o.conflist.log_file = optarg; break;
		case O_RUN: o.run_dir = optarg; break;
		case O_LOGDIR: o.log_dir = optarg; break;
		case O_BPFFS: o.bpffs = optarg; break;
		case O_VER: o.conflist.cni_version = optarg; break;
		case O_V6: o.ipv6 = true; break;
		case O_LOG: log_file = optarg; break;
		case O_MTU:
			if (pf_parse_uint("--mtu", optarg, 65535, &o.conflist.mtu))
				return 2;
			break;
		case O_WAIT:
			if (pf_parse_uint("--wait-timeout", optarg, 86400, &o.wait_timeout_s))
				return 2;
			break;
		case O_HELP: case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "podfence-init: unexpected argument \"%s\"\n", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (o.conflist.mtu < 576) {
		fprintf(stderr, "podfence-init: --mtu %u is below 576\n", o.conflist.mtu);
		return 2;
	}
	if (access(o.plugin_src, R_OK)) {
		fprintf(stderr, "podfence-init: --plugin %s: %s\n", o.plugin_src, strerror(errno));
		return 2;
	}
	err = pf_log_open("podfence-init", log_file, log_file != NULL);
	if (err) {
		fprintf(stderr, "podfence-init: --log-file %s: %s\n", log_file, strerror(-err));
		return 2;
	}

	err = pf_init_prepare_node(&o);
	if (!err)
		err = pf_init_wait_ipamd(o.conflist.ipamd_socket, o.wait_timeout_s);
	if (!err)
		err = pf_ensure_dir(o.cni_bin_dir);
	if (!err)
		err = pf_ensure_dir(o.cni_conf_dir);
	if (!err)
		err = pf_init_install_cni(&o);
	if (err) {
		pf_err("node not ready: nothing installed into %s", o.cni_conf_dir);
		return 1;
	}
	pf_info("node ready: podfence-cni and its conflist are installed");
	return 0;
}
