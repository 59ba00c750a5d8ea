/* command.c - the weft command: runs a program with weft preloaded.
 *
 *	weft [options] [--] program [arguments...]
 *
 * It puts the absolute path of libweft.so in front of LD_PRELOAD, sets
 * the WEFT_* variables its options ask for, and execs the program the way
 * execvp does (a PATH search).  Before that it checks what would make
 * LD_PRELOAD silently do nothing, and says so in one line instead: a
 * statically linked program (no PT_INTERP: the dynamic loader never runs),
 * one built for another architecture than the library, a setuid or setgid
 * program or one with file capabilities (the loader runs in secure mode
 * and ignores an LD_PRELOAD path with a slash).  Exit statuses are a
 * shell's: 127 when the program is not found or weft cannot work with it,
 * 126 when it cannot be run; env(1)'s 125 for weft's own bad usage.
 *
 * The command uses libc alone; it is not linked with weft.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "weft.h"

#define EXIT_USAGE     125
#define EXIT_CANNOT    126
#define EXIT_NOT_FOUND 127

static const char usage[] =
"Usage: weft [options] [--] program [arguments...]\n"
"\n"
"Runs program with weft preloaded: its blocking calls (read, accept,\n"
"sleep, ...) park the calling coroutine instead of the thread, and its\n"
"threads become coroutines, so a few OS threads serve them all.\n"
"\n"
"Options:\n"
"  -h, --help            show this help and exit\n"
"      --version         show weft's version and exit\n"
"      --stats           statistics on stderr at exit (WEFT_STATS=1)\n"
"      --native-threads  pthreads stay OS threads (WEFT_THREADS=native)\n"
"      --stack-size SIZE each coroutine's stack, e.g. 64K or 1M\n"
"                        (WEFT_STACK_SIZE=SIZE)\n"
"      --cpus N          spread the threads over N schedulers, each an OS\n"
"                        thread (WEFT_CPUS=N)\n"
"      --off             load weft, but every call goes straight to libc\n"
"                        (WEFT_OFF=1)\n"
"      --lib PATH        the libweft.so to preload (default: the one\n"
"                        installed with this command)\n"
"\n"
"Environment (read once at start; options override it):\n"
"  WEFT_OFF=0|1               1: every wrapped call passes straight to\n"
"                             libc, for bisecting a problem (default 0)\n"
"  WEFT_THREADS=green|native  green: pthread_create makes coroutines;\n"
"                             native: real OS threads (default green when\n"
"                             preloaded, native in linked programs)\n"
"  WEFT_STACK_SIZE=SIZE       a coroutine's stack, 16K to 4096M, with K, M\n"
"                             or G; only touched pages cost memory\n"
"                             (default 256K)\n"
"  WEFT_STATS=0|1             1: coroutines made, switches and waits by\n"
"                             call, on stderr at exit (default 0)\n"
"  WEFT_DEBUG=0|1             1: what weft does, on stderr (default 0)\n"
"  WEFT_DUMP_SIGNAL=SIGNAL    a signal, e.g. USR2, that lists every\n"
"                             coroutine and what it waits for on stderr\n"
"                             (default none)\n"
"  WEFT_INHERIT=0|1           0: programs this one starts run without weft\n"
"                             (default 1)\n"
"  WEFT_OFFLOAD_THREADS=N     threads that make the calls that cannot\n"
"                             park, e.g. name lookups, 1 to 64 (default 4)\n"
"  WEFT_CPUS=N                schedulers the threads are spread over, each\n"
"                             an OS thread, 1 to 1024 (default: one per\n"
"                             CPU the program may run on)\n"
"  WEFT_MONITOR_MS=N          ms one thread may hold an OS thread before\n"
"                             the others move to a spare (default 10; 0:\n"
"                             off)\n"
"\n"
"Exit status: the program's; 125 for a bad weft option; 126 if the\n"
"program cannot be run; 127 if it is not found or weft cannot run it\n"
"(statically linked, setuid, no libweft.so).  See weft(1).\n";

/* Says "weft: <what>" on stderr and exits with status. */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("weft: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(status);
}

/* ---- finding libweft.so ---- */

static bool is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The absolute path of the library to preload: --lib's, or the one next
 * to this command (build/weft and build/libweft.so in the source tree;
 * bin/weft and lib/libweft.so once installed). */
static char *find_lib(const char *given)
{
	char exe[PATH_MAX], try[PATH_MAX + 32];

	if (given) {
		char *abs = realpath(given, NULL);
		if (abs == NULL || !is_file(abs))
			fail(EXIT_NOT_FOUND, "--lib %s: %s", given,
			     abs ? "not a file" : strerror(errno));
		return abs;
	}
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		fail(EXIT_NOT_FOUND, "cannot find libweft.so: /proc/self/exe"
		     " is unreadable; give its path with --lib");
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	static const char *const places[] = { "/libweft.so",
					      "/../lib/libweft.so" };
	for (size_t i = 0; i < sizeof places / sizeof places[0]; i++) {
		snprintf(try, sizeof try, "%s%s", exe, places[i]);
		char *abs = realpath(try, NULL);
		if (abs && is_file(abs))
			return abs;
		free(abs);
	}
	fail(EXIT_NOT_FOUND, "cannot find libweft.so in %s or %s/../lib;"
	     " give its path with --lib", exe, exe);
}

/* ---- finding the program, as execvp would ---- */

/* The file execvp would run for name, into path.  Exits with a shell's
 * message and status when there is none. */
static void find_program(const char *name, char *path, size_t cap)
{
	struct stat st;

	if (strchr(name, '/')) {
		if (stat(name, &st) < 0)
			fail(errno == ENOENT || errno == ENOTDIR ?
			     EXIT_NOT_FOUND : EXIT_CANNOT, "%s: %s", name,
			     strerror(errno));
		if (S_ISDIR(st.st_mode))
			fail(EXIT_CANNOT, "%s: %s", name, strerror(EISDIR));
		if (access(name, X_OK) < 0)
			fail(EXIT_CANNOT, "%s: %s", name, strerror(errno));
		snprintf(path, cap, "%s", name);
		return;
	}
	const char *search = getenv("PATH");
	char fallback[256];
	if (search == NULL) {
		confstr(_CS_PATH, fallback, sizeof fallback);
		search = fallback;
	}
	bool denied = false;
	for (const char *p = search;; p++) {
		size_t n = strcspn(p, ":");
		/* An empty element is the current directory. */
		if (n)
			snprintf(path, cap, "%.*s/%s", (int)n, p, name);
		else
			snprintf(path, cap, "./%s", name);
		if (stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
			if (access(path, X_OK) == 0)
				return;
			denied = true;
		}
		p += n;
		if (*p == '\0')
			break;
	}
	if (denied)
		fail(EXIT_CANNOT, "%s: %s", name, strerror(EACCES));
	fail(EXIT_NOT_FOUND, "%s: command not found", name);
}

/* ---- what the dynamic loader would do with it ---- */

/* An ELF file's header, what this command needs of it. */
struct elf {
	unsigned char class, data;
	unsigned machine, type;
	bool interp;            /* has PT_INTERP: the loader runs */
	char interp_path[256];
};

/* Reads path's ELF header and program headers into e.  Returns false if
 * path is not an ELF file (or cannot be read). */
static bool read_elf(const char *path, struct elf *e)
{
	unsigned char id[EI_NIDENT];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool ok = false;

	memset(e, 0, sizeof *e);
	if (fd < 0)
		return false;
	if (pread(fd, id, sizeof id, 0) != (ssize_t)sizeof id ||
	    memcmp(id, ELFMAG, SELFMAG) != 0)
		goto out;
	e->class = id[EI_CLASS];
	e->data = id[EI_DATA];
	uint64_t phoff, phnum, phentsize;
	if (e->class == ELFCLASS64) {
		Elf64_Ehdr h;
		if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
			goto out;
		e->machine = h.e_machine, e->type = h.e_type;
		phoff = h.e_phoff, phnum = h.e_phnum,
		phentsize = h.e_phentsize;
	} else if (e->class == ELFCLASS32) {
		Elf32_Ehdr h;
		if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h)
			goto out;
		e->machine = h.e_machine, e->type = h.e_type;
		phoff = h.e_phoff, phnum = h.e_phnum,
		phentsize = h.e_phentsize;
	} else {
		goto out;
	}
	ok = true;
	/* Another byte order or class: the fields read are not to be
	 * trusted further; the caller compares class and data first. */
	for (uint64_t i = 0; i < phnum && i < 4096; i++) {
		uint32_t type;
		uint64_t off, size;
		if (e->class == ELFCLASS64) {
			Elf64_Phdr ph;
			if (pread(fd, &ph, sizeof ph, phoff + i * phentsize) !=
			    (ssize_t)sizeof ph)
				break;
			type = ph.p_type, off = ph.p_offset,
			size = ph.p_filesz;
		} else {
			Elf32_Phdr ph;
			if (pread(fd, &ph, sizeof ph, phoff + i * phentsize) !=
			    (ssize_t)sizeof ph)
				break;
			type = ph.p_type, off = ph.p_offset,
			size = ph.p_filesz;
		}
		if (type == PT_INTERP) {
			e->interp = true;
			if (size >= sizeof e->interp_path)
				size = sizeof e->interp_path - 1;
			ssize_t n = pread(fd, e->interp_path, size, off);
			e->interp_path[n > 0 ? n : 0] = '\0';
		}
	}
out:
	close(fd);
	return ok;
}

/* The interpreter named on a "#!" line, into interp; false if path is
 * not a script. */
static bool read_shebang(const char *path, char *interp, size_t cap)
{
	char line[256];
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	ssize_t n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n < 2 || line[0] != '#' || line[1] != '!')
		return false;
	line[n] = '\0';
	char *p = line + 2;
	p += strspn(p, " \t");
	size_t len = strcspn(p, " \t\n");
	if (len == 0 || len >= cap)
		return false;
	memcpy(interp, p, len);
	interp[len] = '\0';
	return true;
}

/* Why the loader would run path in secure mode, ignoring LD_PRELOAD, or
 * NULL.  The kernel sets AT_SECURE when exec changes the effective user
 * or group (setuid; setgid with group execute) or grants capabilities;
 * not on a nosuid mount, nor under no_new_privs.  As root, a setuid-root
 * program changes nothing, and file capabilities add none. */
static const char *secure_reason(const char *path, const struct stat *st)
{
	struct statvfs vfs;

	if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID))
		return NULL;
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1)
		return NULL;
	if ((st->st_mode & S_ISUID) &&
	    (st->st_uid != geteuid() || st->st_uid != getuid()))
		return "is setuid";
	if ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) &&
	    (st->st_gid != getegid() || st->st_gid != getgid()))
		return "is setgid";
	if (getuid() != 0 &&
	    getxattr(path, "security.capability", NULL, 0) > 0)
		return "has file capabilities";
	return NULL;
}

/* True for the dynamic loader itself ("ld-linux-x86-64.so.2"), which
 * has no PT_INTERP but runs programs, and honours LD_PRELOAD. */
static bool is_loader(const char *path)
{
	const char *base = strrchr(path, '/');

	base = base ? base + 1 : path;
	return strncmp(base, "ld-", 3) == 0 || strncmp(base, "ld.so", 5) == 0;
}

static const char *arch_name(const struct elf *e)
{
	static char name[64];
	const char *m;

	switch (e->machine) {
	case EM_X86_64: m = "x86-64"; break;
	case EM_386: m = "i386"; break;
	case EM_AARCH64: m = "aarch64"; break;
	case EM_ARM: m = "arm"; break;
	case EM_RISCV: m = "riscv"; break;
	default: m = "another architecture"; break;
	}
	snprintf(name, sizeof name, "%d-bit %s",
		 e->class == ELFCLASS64 ? 64 : 32, m);
	return name;
}

/* Exits with a message if weft cannot work in the program at path (what
 * name stood for); who, if not NULL, is the script it interprets. */
static void check_program(const char *path, const char *who,
			  const struct elf *lib)
{
	struct stat st;
	struct elf e;
	char shown[PATH_MAX + 64];

	if (who)
		snprintf(shown, sizeof shown, "%s (the interpreter of %s)",
			 path, who);
	else
		snprintf(shown, sizeof shown, "%s", path);
	if (stat(path, &st) < 0)
		fail(EXIT_NOT_FOUND, "%s: %s", shown, strerror(errno));
	const char *secure = secure_reason(path, &st);
	if (secure)
		fail(EXIT_NOT_FOUND, "%s %s: the dynamic loader ignores"
		     " LD_PRELOAD for it", shown, secure);
	char interp[256];
	if (who == NULL && read_shebang(path, interp, sizeof interp)) {
		check_program(interp, path, lib);
		return;
	}
	if (!read_elf(path, &e))
		return; /* a shell script without "#!": sh runs it */
	if (e.class != lib->class || e.data != lib->data ||
	    e.machine != lib->machine)
		fail(EXIT_NOT_FOUND, "%s is a %s program and libweft.so is"
		     " %s: the dynamic loader would not load it", shown,
		     arch_name(&e), arch_name(lib));
	if (!e.interp && !is_loader(path))
		fail(EXIT_NOT_FOUND, "%s is statically linked: weft can only"
		     " run dynamically linked programs", shown);
	if (e.interp && access(e.interp_path, F_OK) < 0)
		fail(EXIT_NOT_FOUND, "%s: its dynamic loader %s is missing",
		     shown, e.interp_path);
}

/* ---- the environment ---- */

/* LD_PRELOAD with lib first and any other weft library taken out (a
 * program run with weft from a program already under weft). */
static char *preload_value(const char *lib)
{
	const char *old = getenv("LD_PRELOAD");
	size_t cap = strlen(lib) + (old ? strlen(old) : 0) + 2;
	char *v = malloc(cap);

	if (v == NULL)
		fail(EXIT_CANNOT, "%s", strerror(ENOMEM));
	strcpy(v, lib);
	for (const char *p = old; p && *p;) {
		size_t n = strcspn(p, " :");
		const char *base = p;
		for (size_t i = 0; i < n; i++)
			if (p[i] == '/')
				base = p + i + 1;
		size_t left = n - (size_t)(base - p);
		if (n && !(left >= 7 && memcmp(base, "libweft", 7) == 0)) {
			strcat(v, ":");
			strncat(v, p, n);
		}
		p += n;
		p += *p != '\0';
	}
	return v;
}

/* Whether s is a size WEFT_STACK_SIZE takes: digits, then K, M or G
 * (optionally followed by B or iB), from 16K to 4G (core/stack.c's
 * bounds). */
static bool is_size(const char *s)
{
	size_t digits = strspn(s, "0123456789");
	const char *p = s + digits;
	unsigned shift = 0;

	if (digits == 0 || digits > 10)
		return false;
	if (*p && strchr("kKmMgG", *p)) {
		shift = *p == 'k' || *p == 'K' ? 10 : *p == 'm' || *p == 'M' ?
			20 : 30;
		p++;
		if (strcmp(p, "B") == 0 || strcmp(p, "iB") == 0)
			p += strlen(p);
	}
	unsigned long long n = strtoull(s, NULL, 10) << shift;
	return *p == '\0' && n >= 16u << 10 && n <= 1ull << 32;
}

/* Whether s is a whole number from min to max, digits only. */
static bool is_count(const char *s, unsigned long min, unsigned long max)
{
	size_t digits = strspn(s, "0123456789");

	if (digits == 0 || digits > 9 || s[digits] != '\0')
		return false;
	unsigned long n = strtoul(s, NULL, 10);
	return n >= min && n <= max;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ "stats", no_argument, NULL, 's' },
		{ "native-threads", no_argument, NULL, 'n' },
		{ "stack-size", required_argument, NULL, 'S' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "off", no_argument, NULL, 'o' },
		{ "lib", required_argument, NULL, 'l' },
		{ NULL, 0, NULL, 0 },
	};
	const char *lib_given = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", longs, NULL)) != -1) {
		switch (c) {
		case 'h':
			fputs(usage, stdout);
			return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
		case 'V':
			puts("weft " WEFT_VERSION);
			return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
		case 's':
			setenv("WEFT_STATS", "1", 1);
			break;
		case 'n':
			setenv("WEFT_THREADS", "native", 1);
			break;
		case 'c':
			if (!is_count(optarg, 1, 1024))
				fail(EXIT_USAGE, "--cpus %s: want a number"
				     " from 1 to 1024", optarg);
			setenv("WEFT_CPUS", optarg, 1);
			break;
		case 'S':
			if (!is_size(optarg))
				fail(EXIT_USAGE, "--stack-size %s: want a size"
				     " from 16K to 4G, such as 64K or 1M",
				     optarg);
			setenv("WEFT_STACK_SIZE", optarg, 1);
			break;
		case 'o':
			setenv("WEFT_OFF", "1", 1);
			break;
		case 'l':
			lib_given = optarg;
			break;
		case ':':
			fail(EXIT_USAGE, "%s needs a value (try 'weft"
			     " --help')", argv[optind - 1]);
		default:
			/* optopt is a long option's value too (--stats=1) */
			if (optopt && argv[optind - 1][1] != '-')
				fail(EXIT_USAGE, "unknown option '-%c' (try"
				     " 'weft --help')", optopt);
			fail(EXIT_USAGE, "unknown option '%s' (try 'weft"
			     " --help')", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		fail(EXIT_USAGE, "no program to run (try 'weft --help')");

	char *lib = find_lib(lib_given);
	if (strpbrk(lib, " :"))
		fail(EXIT_NOT_FOUND, "%s: LD_PRELOAD cannot hold a path with a"
		     " space or a colon; give another with --lib", lib);
	struct elf lib_elf;
	if (!read_elf(lib, &lib_elf))
		fail(EXIT_NOT_FOUND, "%s is not a shared library", lib);

	const char *name = argv[optind];
	char path[PATH_MAX + 256];
	find_program(name, path, sizeof path);
	check_program(path, NULL, &lib_elf);

	if (setenv("LD_PRELOAD", preload_value(lib), 1) < 0)
		fail(EXIT_CANNOT, "%s", strerror(errno));
	execvp(name, argv + optind);
	fail(errno == ENOENT ? EXIT_NOT_FOUND : EXIT_CANNOT, "%s: %s", name,
	     strerror(errno));
}
