/* File-tree operations for upgrades and backups: copying a tree faithfully, removing one, sizing
 * one, free space, and the atomic swap of two directories. Every error names the path and the
 * system's reason. */
#ifndef HM_OPS_FSUTIL_H
#define HM_OPS_FSUTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/util.h"

/* Called after each regular file a copy wrote; rel is its path below the copy's root. */
typedef void (*fs_copy_cb)(const char *rel, void *ud);

/* Copies the tree at src to dst, which must not exist (its parent must). Directories, regular
 * files and symbolic links (copied as links, never followed) keep their permission bits and
 * modification times, and their owner when run as root; hard links become separate files.
 * Everything written is flushed to disk (syncfs) before returning. on_file may be NULL.
 * Returns 0, or -1 with e set: "cannot copy 'SRC/x': not a regular file, directory or symbolic
 * link", "cannot create 'DST/x': reason", "cannot read 'SRC/x': reason", "cannot write
 * 'DST/x': No space left on device". A failed copy leaves a partial dst for the caller to
 * remove. */
int fs_copy_tree(const char *src, const char *dst, fs_copy_cb on_file, void *ud, hm_err *e);

/* Removes path and everything below it without following symbolic links; a missing path is
 * success. Returns 0, or -1 with e set to "cannot remove 'x': reason". */
int fs_remove_tree(const char *path, hm_err *e);

/* The space a copy of the tree at path needs, in bytes: every regular file's size rounded up
 * to 4 KiB, plus 4 KiB per directory and symbolic link. Returns 0, or -1 with e set ("cannot
 * read 'x': reason"). A missing path is an error. */
int fs_tree_size(const char *path, uint64_t *out, hm_err *e);

/* Bytes available to an unprivileged user on the file system holding path (statvfs f_bavail *
 * f_frsize), and whether two paths are on the same file system. Return 0, or -1 with e set
 * ("cannot stat 'x': reason"). */
int fs_free_bytes(const char *path, uint64_t *out, hm_err *e);
int fs_same_fs(const char *a, const char *b, bool *out, hm_err *e);

/* Swaps the directory entries a and b, both of which must exist on one file system, in one
 * step (renameat2 RENAME_EXCHANGE): a reader sees either the old or the new pair, never a
 * missing entry. The parent directories are synced afterwards. Returns 0, or -1 with e set
 * ("cannot exchange 'a' and 'b': reason"; EINVAL means the file system cannot do it). */
int fs_exchange(const char *a, const char *b, hm_err *e);

/* Writes data to path through a temporary file in the same directory, fsync and rename, so
 * path holds either its old or its new content. mode is the new file's permission bits.
 * Returns 0, or -1 with e set ("cannot write 'x': reason"). */
int fs_write_atomic(const char *path, const void *data, size_t len, unsigned mode, hm_err *e);

/* fsync of a directory, so renames in it are durable. Returns 0, or -1 with e set. */
int fs_sync_dir(const char *dir, hm_err *e);

/* Whether path exists (lstat succeeds) / is a directory (stat, following links). */
bool fs_exists(const char *path);
bool fs_is_dir(const char *path);

/* Creates dir and its missing parents with the given mode. Returns 0, or -1 with e set. */
int fs_mkdir_p(const char *dir, unsigned mode, hm_err *e);

#endif
