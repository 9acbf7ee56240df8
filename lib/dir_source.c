// SPDX-License-Identifier: Apache-2.0
/* The dir: source: per-file object tracking over inotify. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dir_source.h"
#include "k8s_manifest.h"
#include "k8s_parse.h"

#define PF_DIR_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM | \
		       IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

struct pf_dir_file {
	char *name;
	struct pf_dir_object *objs;
	size_t n;
};

struct pf_dir_source {
	char *dir;
	int fd;
	struct pf_dir_file *files;
	size_t n_files;
	char **dirty; /* names the events mentioned since the last sync */
	size_t n_dirty;
	bool rescan;  /* the queue overflowed or ..data moved: read everything */
};

bool pf_dir_source_is_manifest(const char *name)
{
	static const char *const suffixes[] = { ".yaml", ".yml", ".json" };
	size_t len = strlen(name);

	if (name[0] == '.')
		return false;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		size_t sl = strlen(suffixes[i]);

		if (len > sl && !strcmp(name + len - sl, suffixes[i]))
			return true;
	}
	return false;
}

int pf_dir_source_open(const char *dir, struct pf_dir_source **out, char *err, size_t err_len)
{
	struct pf_dir_source *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		snprintf(err, err_len, "source dir:%s: out of memory", dir);
		return -ENOMEM;
	}
	s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (s->fd < 0 || inotify_add_watch(s->fd, dir, PF_DIR_EVENTS) < 0) {
		rc = -errno;
		snprintf(err, err_len, "watch source directory %s: %s", dir, strerror(-rc));
		pf_dir_source_free(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void pf_dir_object_free(struct pf_dir_object *o)
{
	free(o->text);
	free(o->good);
	free(o->ns);
	free(o->name);
	free(o->where);
	json_decref(o->obj);
}

static void pf_dir_file_clear(struct pf_dir_file *f)
{
	for (size_t i = 0; i < f->n; i++)
		pf_dir_object_free(&f->objs[i]);
	free(f->objs);
	f->objs = NULL;
	f->n = 0;
}

static void pf_dir_dirty_clear(struct pf_dir_source *s)
{
	for (size_t i = 0; i < s->n_dirty; i++)
		free(s->dirty[i]);
	free(s->dirty);
	s->dirty = NULL;
	s->n_dirty = 0;
}

void pf_dir_source_free(struct pf_dir_source *s)
{
	if (!s)
		return;
	if (s->fd >= 0)
		close(s->fd);
	for (size_t i = 0; i < s->n_files; i++) {
		pf_dir_file_clear(&s->files[i]);
		free(s->files[i].name);
	}
	free(s->files);
	pf_dir_dirty_clear(s);
	free(s->dir);
	free(s);
}

int pf_dir_source_fd(const struct pf_dir_source *s)
{
	return s->fd;
}

const char *pf_dir_source_dir(const struct pf_dir_source *s)
{
	return s->dir;
}

static struct pf_dir_file *pf_dir_file_find(const struct pf_dir_source *s, const char *name)
{
	for (size_t i = 0; i < s->n_files; i++)
		if (!strcmp(s->files[i].name, name))
			return &s->files[i];
	return NULL;
}

const struct pf_dir_object *pf_dir_source_file_objects(const struct pf_dir_source *s,
							const char *file, size_t *n)
{
	const struct pf_dir_file *f = pf_dir_file_find(s, file);

	*n = f ? f->n : 0;
	return f && f->n ? f->objs : NULL;
}

static bool pf_same_identity(const struct pf_dir_object *a, enum pf_k8s_kind kind,
			     const char *ns, const char *name)
{
	return a->kind == kind && !strcmp(a->name, name) &&
	       (a->ns && ns ? !strcmp(a->ns, ns) : a->ns == ns);
}

static struct pf_dir_object *pf_objs_find(struct pf_dir_object *objs, size_t n,
					  const struct pf_dir_object *like)
{
	for (size_t i = 0; i < n; i++)
		if (pf_same_identity(&objs[i], like->kind, like->ns, like->name))
			return &objs[i];
	return NULL;
}

static void pf_sink_error(const struct pf_dir_sink *sink, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void pf_sink_error(const struct pf_dir_sink *sink, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	sink->error(sink->ctx, msg);
}

/* Puts o (its tree is read back from its text when it has none); its good
 * version becomes o's, or stays what it was. */
static void pf_sink_put(const struct pf_dir_sink *sink, struct pf_dir_object *o)
{
	char err[1024] = "";
	bool parsed = !o->obj;
	char *good;
	int rc;

	if (parsed && !(o->obj = json_loads(o->text, 0, NULL))) {
		pf_sink_error(sink, "%s: out of memory", o->where);
		return;
	}
	rc = sink->put(sink->ctx, o, err, sizeof(err));
	if (parsed) {
		json_decref(o->obj);
		o->obj = NULL;
	}
	if (rc) {
		pf_sink_error(sink, "%s: %s; %s", o->where, err,
			      o->good ? "the previous version stays in force"
				      : "no version of it is in force");
		return;
	}
	good = strdup(o->text);
	if (!good) {
		pf_sink_error(sink, "%s: out of memory (what is in force is not recorded)",
			      o->where);
		return;
	}
	free(o->good);
	o->good = good;
}

/* Drops the trees of a file's objects once they are put: the text stays. */
static void pf_dir_file_shed_trees(struct pf_dir_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		json_decref(f->objs[i].obj);
		f->objs[i].obj = NULL;
	}
}

static void pf_sink_file_changed(const struct pf_dir_sink *sink, const char *file)
{
	if (sink->file_changed)
		sink->file_changed(sink->ctx, file);
}

/* An object f no longer holds: another file's copy takes over, or it goes. */
static void pf_dir_drop(struct pf_dir_source *s, const struct pf_dir_file *f,
			const struct pf_dir_object *o, const struct pf_dir_sink *sink)
{
	for (size_t i = 0; i < s->n_files; i++) {
		struct pf_dir_object *other;

		if (&s->files[i] == f)
			continue;
		other = pf_objs_find(s->files[i].objs, s->files[i].n, o);
		if (other) {
			pf_sink_put(sink, other);
			pf_sink_file_changed(sink, s->files[i].name);
			return;
		}
	}
	sink->del(sink->ctx, o->kind, o->ns, o->name);
}

/* Reads an object's identity into o (taking its JSON); -ENOTSUP for a kind
 * podfence does not read, -EINVAL (reported) when it cannot be read. */
static int pf_dir_identity(json_t *obj, const char *where, struct pf_dir_object *o,
			   const struct pf_dir_sink *sink)
{
	char err[512];
	int rc;

	memset(o, 0, sizeof(*o));
	rc = pf_k8s_kind_of(obj, &o->kind, err, sizeof(err));
	if (rc == -ENOTSUP)
		return rc;
	if (!rc)
		rc = pf_k8s_meta(obj, o->kind != PF_K8S_NAMESPACE, &o->ns, &o->name, err,
				 sizeof(err));
	if (!rc && (!(o->where = strdup(where)) ||
		    !(o->text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS))))
		rc = -ENOMEM;
	if (rc) {
		pf_sink_error(sink, "%s: %s", where, rc == -ENOMEM ? "out of memory" : err);
		free(o->ns);
		free(o->name);
		free(o->where);
		return -EINVAL;
	}
	o->obj = json_incref(obj);
	return 0;
}

/* The new object list of a file from its documents; within one file the
 * last document naming an object wins. *uncertain: some document could not
 * be identified. room: extra slots for objects kept from before. */
static int pf_dir_objects_of(const struct pf_manifest_list *l, size_t room,
			     struct pf_dir_object **out, size_t *n, bool *uncertain,
			     const struct pf_dir_sink *sink)
{
	struct pf_dir_object *objs = calloc(l->n + room + 1, sizeof(*objs));

	*out = objs;
	*n = 0;
	if (!objs)
		return -ENOMEM;
	for (size_t i = 0; i < l->n; i++) {
		struct pf_dir_object o, *prev;
		char where[PATH_MAX + 64];
		int rc = pf_dir_identity(l->docs[i].obj,
					 pf_manifest_doc_where(&l->docs[i], where, sizeof(where)),
					 &o, sink);

		if (rc == -EINVAL)
			*uncertain = true;
		if (rc)
			continue;
		prev = pf_objs_find(objs, *n, &o);
		if (prev) {
			pf_dir_object_free(prev);
			*prev = o;
		} else {
			objs[(*n)++] = o;
		}
	}
	return 0;
}

static struct pf_dir_file *pf_dir_file_add(struct pf_dir_source *s, const char *name)
{
	struct pf_dir_file *grown = realloc(s->files, (s->n_files + 1) * sizeof(*grown));

	if (!grown)
		return NULL;
	s->files = grown;
	memset(&grown[s->n_files], 0, sizeof(*grown));
	if (!(grown[s->n_files].name = strdup(name)))
		return NULL;
	return &grown[s->n_files++];
}

static void pf_dir_file_remove(struct pf_dir_source *s, struct pf_dir_file *f,
			       const struct pf_dir_sink *sink)
{
	size_t i = (size_t)(f - s->files);
	struct pf_dir_file gone = *f;

	/* Out of the list first, so no drop finds its objects elsewhere. */
	memmove(&s->files[i], &s->files[i + 1], (s->n_files - i - 1) * sizeof(*f));
	s->n_files--;
	for (size_t k = 0; k < gone.n; k++)
		pf_dir_drop(s, NULL, &gone.objs[k], sink);
	pf_sink_file_changed(sink, gone.name);
	pf_dir_file_clear(&gone);
	free(gone.name);
}

/* Installs a file's new objects and drops the old ones it no longer has,
 * unless uncertain: then they stay (objs has room for them). */
static void pf_dir_file_replace(struct pf_dir_source *s, struct pf_dir_file *f,
				struct pf_dir_object *objs, size_t n, bool uncertain,
				const struct pf_dir_sink *sink)
{
	struct pf_dir_object *old = f->objs;
	size_t old_n = f->n;

	/* The new list is in place before any drop, so a drop finds the
	 * object in the other files only. */
	f->objs = objs;
	f->n = n;
	for (size_t i = 0; i < old_n; i++) {
		if (!pf_objs_find(objs, n, &old[i]) && uncertain) {
			f->objs[f->n++] = old[i]; /* the broken document may be it */
			continue;
		}
		if (!pf_objs_find(objs, n, &old[i]))
			pf_dir_drop(s, f, &old[i], sink);
		pf_dir_object_free(&old[i]);
	}
	free(old);
}

/* Reloads one file (or forgets it when it is gone). */
static int pf_dir_reload(struct pf_dir_source *s, const char *name,
			 const struct pf_dir_sink *sink)
{
	struct pf_dir_file *f = pf_dir_file_find(s, name);
	struct pf_manifest_list l;
	struct pf_dir_object *objs = NULL;
	char path[PATH_MAX], err[1024];
	bool uncertain = false;
	struct stat st;
	size_t n = 0;
	int rc;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", s->dir, name) >= sizeof(path)) {
		pf_sink_error(sink, "%s/%s: path too long", s->dir, name);
		return 0;
	}
	if (stat(path, &st) || !S_ISREG(st.st_mode)) {
		if (f)
			pf_dir_file_remove(s, f, sink);
		return 0;
	}
	rc = pf_manifest_read_file(path, &l, err, sizeof(err));
	if (rc == -ENOENT) {
		if (f)
			pf_dir_file_remove(s, f, sink);
		return 0;
	}
	if (rc) {
		pf_sink_error(sink, "%s%s", err, f && f->n ?
			      "; the file's previous objects stay in force" : "");
		return rc == -ENOMEM ? rc : 0;
	}
	rc = pf_dir_objects_of(&l, f ? f->n : 0, &objs, &n, &uncertain, sink);
	pf_manifest_list_free(&l);
	if (!rc && !f && !(f = pf_dir_file_add(s, name)))
		rc = -ENOMEM;
	if (rc) {
		for (size_t i = 0; i < n; i++)
			pf_dir_object_free(&objs[i]);
		free(objs);
		pf_sink_error(sink, "%s: out of memory", path);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		struct pf_dir_object *old = pf_objs_find(f->objs, f->n, &objs[i]);

		/* What is in force so far stays unless the new version is taken. */
		if (old && old->good && !(objs[i].good = strdup(old->good)))
			pf_sink_error(sink, "%s: out of memory", objs[i].where);
		if (!old || strcmp(old->text, objs[i].text))
			pf_sink_put(sink, &objs[i]);
	}
	pf_dir_file_replace(s, f, objs, n, uncertain, sink);
	pf_dir_file_shed_trees(f);
	pf_sink_file_changed(sink, f->name);
	return 0;
}

int pf_dir_source_seed(struct pf_dir_source *s, const char *file, json_t *objs,
		       const struct pf_dir_sink *sink)
{
	struct pf_dir_file *f = pf_dir_file_find(s, file);
	char where[PATH_MAX + 64];
	size_t i;
	json_t *obj;

	if (!json_is_array(objs)) {
		pf_sink_error(sink, "saved objects of %s/%s: not a list", s->dir, file);
		return -EINVAL;
	}
	if (!f && !(f = pf_dir_file_add(s, file))) {
		pf_sink_error(sink, "saved objects of %s/%s: out of memory", s->dir, file);
		return -ENOMEM;
	}
	json_array_foreach(objs, i, obj) {
		struct pf_dir_object o, *grown;

		snprintf(where, sizeof(where), "%s/%s as last in force, object %zu", s->dir, file,
			 i + 1);
		if (pf_dir_identity(obj, where, &o, sink))
			continue;
		grown = realloc(f->objs, (f->n + 1) * sizeof(*grown));
		if (!grown) {
			pf_dir_object_free(&o);
			pf_sink_error(sink, "%s: out of memory", where);
			return -ENOMEM;
		}
		f->objs = grown;
		f->objs[f->n] = o;
		pf_sink_put(sink, &f->objs[f->n++]);
	}
	pf_dir_file_shed_trees(f);
	return 0;
}

int pf_dir_source_scan(struct pf_dir_source *s, const struct pf_dir_sink *sink)
{
	DIR *d = opendir(s->dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;

	if (!d) {
		rc = -errno;
		pf_sink_error(sink, "read source directory %s: %s", s->dir, strerror(-rc));
		return rc;
	}
	while ((de = readdir(d))) {
		char **grown;

		if (!pf_dir_source_is_manifest(de->d_name))
			continue;
		grown = realloc(names, (n + 1) * sizeof(*names));
		if (!grown || !(grown[n] = strdup(de->d_name))) {
			names = grown ? grown : names;
			rc = -ENOMEM;
			break;
		}
		names = grown;
		n++;
	}
	closedir(d);
	/* Files known but not listed any more are gone. */
	for (size_t i = 0; !rc && i < s->n_files;) {
		bool listed = false;

		for (size_t k = 0; k < n && !listed; k++)
			listed = !strcmp(names[k], s->files[i].name);
		if (listed)
			i++;
		else
			pf_dir_file_remove(s, &s->files[i], sink);
	}
	for (size_t i = 0; !rc && i < n; i++)
		rc = pf_dir_reload(s, names[i], sink);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (rc == -ENOMEM)
		pf_sink_error(sink, "read source directory %s: out of memory", s->dir);
	s->rescan = false;
	return rc;
}

static int pf_dir_mark(struct pf_dir_source *s, const char *name)
{
	char **grown;

	for (size_t i = 0; i < s->n_dirty; i++)
		if (!strcmp(s->dirty[i], name))
			return 0;
	grown = realloc(s->dirty, (s->n_dirty + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	s->dirty = grown;
	if (!(grown[s->n_dirty] = strdup(name)))
		return -ENOMEM;
	s->n_dirty++;
	return 0;
}

int pf_dir_source_read_events(struct pf_dir_source *s)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	int relevant = 0;

	for (;;) {
		ssize_t len = read(s->fd, buf, sizeof(buf));

		if (len < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return relevant;
			return -errno;
		}
		for (char *p = buf; p < buf + len;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;

			p += sizeof(*ev) + ev->len;
			if (ev->mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF)) {
				s->rescan = true;
				relevant++;
			} else if (ev->len && !strncmp(ev->name, "..", 2)) {
				s->rescan = true;
				relevant++;
			} else if (ev->len && pf_dir_source_is_manifest(ev->name)) {
				if (pf_dir_mark(s, ev->name))
					s->rescan = true; /* out of memory: read it all later */
				relevant++;
			}
		}
	}
}

int pf_dir_source_sync(struct pf_dir_source *s, const struct pf_dir_sink *sink)
{
	int rc = 0;

	if (s->rescan) {
		pf_dir_dirty_clear(s);
		return pf_dir_source_scan(s, sink);
	}
	for (size_t i = 0; i < s->n_dirty && !rc; i++)
		rc = pf_dir_reload(s, s->dirty[i], sink);
	pf_dir_dirty_clear(s);
	return rc;
}
