/*
 * udp-floor.c - physical-limit proxy for a UDP relay on loopback.
 *
 * One binary, four modes:
 *
 *   udp-floor fwd  -l IP:PORT -p PEER_IP:PORT [-b BATCH] [-S MAX_SESSIONS] [-T SECS]
 *       Minimal single-threaded "TURN without the protocol": a client-facing
 *       socket; for every new client address a relay socket (like a TURN
 *       allocation) bound to an ephemeral port on the listen IP.  Datagrams
 *       from a client go out of its relay socket to PEER; datagrams arriving
 *       on a relay socket from PEER go back to that client.  Uses epoll +
 *       recvmmsg/sendmmsg batching.  No parsing, no auth, no channel headers:
 *       this is the cheapest possible relay, i.e. the kernel's floor.
 *       Sessions are never freed; at most MAX_SESSIONS (default 65536).
 *
 *   udp-floor echo -l IP:PORT [-b BATCH] [-T SECS]
 *       Batched echo peer (recvmmsg/sendmmsg back to each sender).
 *
 *   udp-floor load -s IP:PORT [-m SESSIONS] [-n MSGS] [-l SIZE]
 *                  [-z INTERVAL_US] [-w WINDOW] [-B BURST] [-T SECS] [-D DRAIN_MS]
 *                  [-A USER:PASS | -S USER:SECRET] [-e PEER_IP:PORT] [-I]
 *       Load client: SESSIONS sockets, each sends MSGS datagrams of SIZE
 *       bytes to IP:PORT and expects them echoed back (through fwd -> echo).
 *       With -A (long-term credentials) or -S (TURN REST API shared secret)
 *       it is a minimal TURN/UDP client instead: per session Allocate (401
 *       challenge, MESSAGE-INTEGRITY), ChannelBind to PEER (-e), then the same
 *       payloads as ChannelData; Refresh(lifetime 0) at the end.  So the very
 *       same load, with microsecond RTT, can be sent to a TURN server and to
 *       the bare forwarder.
 *         -I            : (TURN only) Send indications (XOR-PEER-ADDRESS = PEER,
 *                         DATA = the payload, no integrity) instead of
 *                         ChannelData.  The set-up is Allocate + CreatePermission
 *                         to PEER instead of ChannelBind: a server answers with
 *                         ChannelData whenever a channel is bound to the peer,
 *                         so only without one do the echoes come back as Data
 *                         indications; they are timed from the payload in
 *                         their DATA (echoes that come as ChannelData anyway
 *                         count too, and as recv_as_channeldata).  SIZE is
 *                         the DATA size.
 *         -z N>0        : paced, one message every N microseconds per session
 *                         (sessions evenly staggered), like uclient -z N/1000.
 *         -z 0 -w 0     : uclient -z 0 emulation: every 1 ms tick each session
 *                         sends up to BURST (default 50) messages, open loop.
 *         -w W>0        : closed loop, W messages in flight per session
 *                         (a message not answered within 200 ms counts lost).
 *       Prints one JSON line: sent, recv, lost, duration, msgs/s, RTT in us.
 *
 *   udp-floor alloc -s IP:PORT (-A USER:PASS | -S USER:SECRET) -n COUNT
 *                   [-w WINDOW] [-e PEER_IP:PORT] [-H HOLD_SECS] [-T SECS]
 *       Allocation set-up rate from one client: COUNT UDP sockets (the
 *       open-file limit is raised as needed), each does Allocate (no auth)
 *       -> 401/438 -> authenticated Allocate -> success and, with -e, a
 *       ChannelBind to PEER afterwards.  At most WINDOW (default 256) sockets
 *       are in the middle of set-up at any time, pipelined with epoll; a
 *       request unanswered for 500 ms is sent again, at most 3 tries, then the
 *       allocation counts as failed.  Prints one JSON line: ok, failed,
 *       seconds from the first request to the last success, allocations per
 *       second, p50/p99 set-up latency per allocation in us.  Then holds the
 *       allocations HOLD_SECS (default 0) and releases every one with an
 *       authenticated Refresh(lifetime 0), WINDOW outstanding at a time, each
 *       answered or given up after 2 x 250 ms (a summary line goes to stderr).
 *       -T (default 120) bounds it all; the last min(15 s, T/5) are kept for
 *       the release.  Exit status 4 if any allocation failed or was cut off.
 *
 * All modes stop by themselves: fwd/echo after -T seconds (default 300) or on
 * SIGINT/SIGTERM, load after all messages plus DRAIN_MS or -T seconds
 * (default 120), alloc after the release or -T seconds (default 120; on
 * SIGINT/SIGTERM it skips to the release, cut to 1 s).  Only IPv4 literal
 * addresses are accepted (use 127.0.0.1).
 *
 * Build: cc -O2 -Wall -o udp-floor udp-floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAXBATCH 256
#define BUFSZ 2048

static volatile sig_atomic_t g_stop = 0;
static void on_sig(int s) { (void)s; g_stop = 1; }

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void die(const char *what) {
    perror(what);
    exit(2);
}

static int parse_addr(const char *s, struct sockaddr_in *a) {
    char host[64];
    const char *c = strrchr(s, ':');
    if (!c || (size_t)(c - s) >= sizeof(host)) return -1;
    memcpy(host, s, (size_t)(c - s));
    host[c - s] = 0;
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)atoi(c + 1));
    return inet_pton(AF_INET, host, &a->sin_addr) == 1 ? 0 : -1;
}

static int udp_socket(const struct sockaddr_in *bind_to) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) die("socket");
    if (bind_to && bind(fd, (const struct sockaddr *)bind_to, sizeof(*bind_to)) < 0) die("bind");
    return fd;
}

static void rusage_json(FILE *f) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(f, "\"cpu_user_s\":%.3f,\"cpu_sys_s\":%.3f,\"maxrss_kb\":%ld",
            ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
            ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6, ru.ru_maxrss);
}

/* Batch buffers shared by fwd and echo. */
static struct mmsghdr g_msgs[MAXBATCH];
static struct iovec g_iov[MAXBATCH];
static struct sockaddr_in g_from[MAXBATCH];
static char g_buf[MAXBATCH][BUFSZ];
static struct mmsghdr g_out[MAXBATCH];
static struct iovec g_oiov[MAXBATCH];

static void prep_recv(int n) {
    for (int i = 0; i < n; i++) {
        g_iov[i].iov_base = g_buf[i];
        g_iov[i].iov_len = BUFSZ;
        memset(&g_msgs[i].msg_hdr, 0, sizeof(g_msgs[i].msg_hdr));
        g_msgs[i].msg_hdr.msg_iov = &g_iov[i];
        g_msgs[i].msg_hdr.msg_iovlen = 1;
        g_msgs[i].msg_hdr.msg_name = &g_from[i];
        g_msgs[i].msg_hdr.msg_namelen = sizeof(g_from[i]);
    }
}

/* Send the first k prepared g_out entries on fd; returns number sent. */
static int flush_out(int fd, int k, uint64_t *syscalls) {
    int done = 0;
    while (done < k) {
        int r = sendmmsg(fd, g_out + done, (unsigned)(k - done), MSG_DONTWAIT);
        (*syscalls)++;
        if (r < 0) {
            if (errno == EINTR) continue;
            break; /* EAGAIN/ENOBUFS/ECONNREFUSED: drop the rest */
        }
        if (r == 0) break;
        done += r;
    }
    return done;
}

static void set_out(int j, void *base, size_t len, struct sockaddr_in *to) {
    g_oiov[j].iov_base = base;
    g_oiov[j].iov_len = len;
    memset(&g_out[j].msg_hdr, 0, sizeof(g_out[j].msg_hdr));
    g_out[j].msg_hdr.msg_iov = &g_oiov[j];
    g_out[j].msg_hdr.msg_iovlen = 1;
    g_out[j].msg_hdr.msg_name = to;
    g_out[j].msg_hdr.msg_namelen = to ? sizeof(*to) : 0;
}

/* ------------------------------------------------------------------ fwd */

typedef struct {
    struct sockaddr_in client;
    int relay_fd;
    uint64_t key;
} session_t;

static session_t *g_sess;
static int g_nsess, g_maxsess = 65536;
static int32_t *g_hash; /* open addressing, -1 = empty */
static unsigned g_hmask;

static uint64_t addr_key(const struct sockaddr_in *a) {
    return ((uint64_t)a->sin_addr.s_addr << 16) | a->sin_port;
}

static int sess_lookup(const struct sockaddr_in *a, int create, int ep, const struct sockaddr_in *relay_ip) {
    uint64_t k = addr_key(a);
    unsigned h = (unsigned)((k * 0x9E3779B97F4A7C15ull) >> 40) & g_hmask;
    while (g_hash[h] >= 0) {
        if (g_sess[g_hash[h]].key == k) return g_hash[h];
        h = (h + 1) & g_hmask;
    }
    if (!create || g_nsess >= g_maxsess) return -1;
    int idx = g_nsess++;
    session_t *s = &g_sess[idx];
    s->client = *a;
    s->key = k;
    struct sockaddr_in b = *relay_ip;
    b.sin_port = 0;
    s->relay_fd = udp_socket(&b);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)idx + 1};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, s->relay_fd, &ev) < 0) die("epoll_ctl");
    g_hash[h] = idx;
    return idx;
}

static int mode_fwd(int argc, char **argv) {
    struct sockaddr_in lis, peer;
    int have_l = 0, have_p = 0, batch = 64;
    double max_s = 300;
    int c;
    while ((c = getopt(argc, argv, "l:p:b:T:S:")) != -1) {
        switch (c) {
        case 'l': have_l = parse_addr(optarg, &lis) == 0; break;
        case 'p': have_p = parse_addr(optarg, &peer) == 0; break;
        case 'b': batch = atoi(optarg); break;
        case 'T': max_s = atof(optarg); break;
        case 'S': g_maxsess = atoi(optarg); break;
        default: return 1;
        }
    }
    if (!have_l || !have_p) { fprintf(stderr, "fwd: need -l IP:PORT -p PEER_IP:PORT\n"); return 1; }
    if (batch < 1 || batch > MAXBATCH) batch = 64;
    unsigned hsz = 1;
    while (hsz < (unsigned)g_maxsess * 2) hsz <<= 1;
    g_hmask = hsz - 1;
    g_hash = malloc(sizeof(int32_t) * hsz);
    g_sess = calloc((size_t)g_maxsess, sizeof(session_t));
    if (!g_hash || !g_sess) die("malloc");
    memset(g_hash, 0xff, sizeof(int32_t) * hsz);

    int lfd = udp_socket(&lis);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) < 0) die("epoll_ctl");

    uint64_t c2p = 0, p2c = 0, drops = 0, foreign = 0, rx_calls = 0, tx_calls = 0, wakes = 0;
    uint64_t deadline = now_ns() + (uint64_t)(max_s * 1e9);
    struct epoll_event evs[256];
    int sess_of[MAXBATCH];
    fprintf(stderr, "udp-floor fwd: ready\n");
    while (!g_stop && now_ns() < deadline) {
        int ne = epoll_wait(ep, evs, 256, 100);
        if (ne < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        wakes++;
        for (int e = 0; e < ne; e++) {
            uint32_t id = evs[e].data.u32;
            /* drain a bounded number of batches per readiness event */
            for (int round = 0; round < 8; round++) {
                int fd = id == 0 ? lfd : g_sess[id - 1].relay_fd;
                prep_recv(batch);
                int n = recvmmsg(fd, g_msgs, (unsigned)batch, MSG_DONTWAIT, NULL);
                rx_calls++;
                if (n <= 0) break;
                if (id == 0) {
                    /* client -> peer: group by session, one sendmmsg per relay socket */
                    for (int i = 0; i < n; i++)
                        sess_of[i] = sess_lookup(&g_from[i], 1, ep, &lis);
                    for (int i = 0; i < n; i++) {
                        int s = sess_of[i];
                        if (s == -2) continue;
                        if (s < 0) { drops++; continue; }
                        int k = 0;
                        for (int j = i; j < n; j++) {
                            if (sess_of[j] != s) continue;
                            set_out(k++, g_buf[j], g_msgs[j].msg_len, &peer);
                            sess_of[j] = -2;
                        }
                        int sent = flush_out(g_sess[s].relay_fd, k, &tx_calls);
                        c2p += (uint64_t)sent;
                        drops += (uint64_t)(k - sent);
                    }
                } else {
                    /* peer -> client via the client-facing socket */
                    session_t *s = &g_sess[id - 1];
                    int k = 0;
                    for (int i = 0; i < n; i++) {
                        /* permission check analogue: only the configured peer */
                        if (g_from[i].sin_addr.s_addr != peer.sin_addr.s_addr) { foreign++; continue; }
                        set_out(k++, g_buf[i], g_msgs[i].msg_len, &s->client);
                    }
                    int sent = flush_out(lfd, k, &tx_calls);
                    p2c += (uint64_t)sent;
                    drops += (uint64_t)(k - sent);
                }
                if (n < batch) break;
            }
        }
    }
    printf("{\"mode\":\"fwd\",\"sessions\":%d,\"c2p\":%llu,\"p2c\":%llu,\"relayed\":%llu,\"drops\":%llu,"
           "\"foreign\":%llu,\"recvmmsg_calls\":%llu,\"sendmmsg_calls\":%llu,\"epoll_wakeups\":%llu,",
           g_nsess, (unsigned long long)c2p, (unsigned long long)p2c, (unsigned long long)(c2p + p2c),
           (unsigned long long)drops, (unsigned long long)foreign, (unsigned long long)rx_calls,
           (unsigned long long)tx_calls, (unsigned long long)wakes);
    rusage_json(stdout);
    printf("}\n");
    fflush(stdout);
    return 0;
}

/* ----------------------------------------------------------------- echo */

static int mode_echo(int argc, char **argv) {
    struct sockaddr_in lis;
    int have_l = 0, batch = 64;
    double max_s = 300;
    int c;
    while ((c = getopt(argc, argv, "l:b:T:")) != -1) {
        switch (c) {
        case 'l': have_l = parse_addr(optarg, &lis) == 0; break;
        case 'b': batch = atoi(optarg); break;
        case 'T': max_s = atof(optarg); break;
        default: return 1;
        }
    }
    if (!have_l) { fprintf(stderr, "echo: need -l IP:PORT\n"); return 1; }
    if (batch < 1 || batch > MAXBATCH) batch = 64;
    int fd = udp_socket(&lis);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 0}, evs[4];
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    uint64_t echoed = 0, drops = 0, tx_calls = 0;
    uint64_t deadline = now_ns() + (uint64_t)(max_s * 1e9);
    fprintf(stderr, "udp-floor echo: ready\n");
    while (!g_stop && now_ns() < deadline) {
        int ne = epoll_wait(ep, evs, 4, 100);
        if (ne < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        if (ne == 0) continue;
        for (int round = 0; round < 16; round++) {
            prep_recv(batch);
            int n = recvmmsg(fd, g_msgs, (unsigned)batch, MSG_DONTWAIT, NULL);
            if (n <= 0) break;
            for (int i = 0; i < n; i++) set_out(i, g_buf[i], g_msgs[i].msg_len, &g_from[i]);
            int sent = flush_out(fd, n, &tx_calls);
            echoed += (uint64_t)sent;
            drops += (uint64_t)(n - sent);
            if (n < batch) break;
        }
    }
    printf("{\"mode\":\"echo\",\"echoed\":%llu,\"drops\":%llu,", (unsigned long long)echoed,
           (unsigned long long)drops);
    rusage_json(stdout);
    printf("}\n");
    fflush(stdout);
    return 0;
}


/* ---------------------------------------------------- MD5, SHA-1, HMAC */

static uint32_t rol32(uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

static void md5(const uint8_t *msg, size_t len, uint8_t out[16]) {
    static const uint32_t K[64] = {
        0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
        0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
        0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
        0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
        0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
        0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
        0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
        0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391};
    static const int R[64] = {7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22,
                              5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20, 5, 9,  14, 20,
                              4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23,
                              6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21};
    uint32_t h[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
    size_t tot = ((len + 8) / 64 + 1) * 64;
    uint8_t *b = calloc(1, tot);
    memcpy(b, msg, len);
    b[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) b[tot - 8 + i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tot; off += 64) {
        uint32_t M[16];
        for (int i = 0; i < 16; i++)
            M[i] = (uint32_t)b[off + 4 * i] | (uint32_t)b[off + 4 * i + 1] << 8 | (uint32_t)b[off + 4 * i + 2] << 16 |
                   (uint32_t)b[off + 4 * i + 3] << 24;
        uint32_t A = h[0], B = h[1], C = h[2], D = h[3];
        for (int i = 0; i < 64; i++) {
            uint32_t F;
            int g;
            if (i < 16) { F = (B & C) | (~B & D); g = i; }
            else if (i < 32) { F = (D & B) | (~D & C); g = (5 * i + 1) % 16; }
            else if (i < 48) { F = B ^ C ^ D; g = (3 * i + 5) % 16; }
            else { F = C ^ (B | ~D); g = (7 * i) % 16; }
            F = F + A + K[i] + M[g];
            A = D; D = C; C = B;
            B = B + rol32(F, R[i]);
        }
        h[0] += A; h[1] += B; h[2] += C; h[3] += D;
    }
    free(b);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (8 * j));
}

static void sha1(const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t tot = ((len + 8) / 64 + 1) * 64;
    uint8_t *b = calloc(1, tot);
    memcpy(b, msg, len);
    b[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++) b[tot - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t off = 0; off < tot; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)b[off + 4 * i] << 24 | (uint32_t)b[off + 4 * i + 1] << 16 |
                   (uint32_t)b[off + 4 * i + 2] << 8 | (uint32_t)b[off + 4 * i + 3];
        for (int i = 16; i < 80; i++) w[i] = rol32(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) { f = (bb & c) | (~bb & d); k = 0x5A827999; }
            else if (i < 40) { f = bb ^ c ^ d; k = 0x6ED9EBA1; }
            else if (i < 60) { f = (bb & c) | (bb & d) | (c & d); k = 0x8F1BBCDC; }
            else { f = bb ^ c ^ d; k = 0xCA62C1D6; }
            uint32_t t = rol32(a, 5) + f + e + k + w[i];
            e = d; d = c; c = rol32(bb, 30); bb = a; a = t;
        }
        h[0] += a; h[1] += bb; h[2] += c; h[3] += d; h[4] += e;
    }
    free(b);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++) out[4 * i + j] = (uint8_t)(h[i] >> (24 - 8 * j));
}

static void hmac_sha1(const uint8_t *key, size_t klen, const uint8_t *msg, size_t len, uint8_t out[20]) {
    uint8_t k0[64] = {0}, ih[20];
    if (klen > 64) sha1(key, klen, k0); else memcpy(k0, key, klen);
    uint8_t *buf = malloc(64 + (len > 20 ? len : 20));
    for (int i = 0; i < 64; i++) buf[i] = k0[i] ^ 0x36;
    memcpy(buf + 64, msg, len);
    sha1(buf, 64 + len, ih);
    for (int i = 0; i < 64; i++) buf[i] = k0[i] ^ 0x5c;
    memcpy(buf + 64, ih, 20);
    sha1(buf, 84, out);
    free(buf);
}

static void base64(const uint8_t *in, size_t n, char *out) {
    static const char T[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) | (i + 2 < n ? in[i + 2] : 0);
        out[o++] = T[(v >> 18) & 63];
        out[o++] = T[(v >> 12) & 63];
        out[o++] = i + 1 < n ? T[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? T[v & 63] : '=';
    }
    out[o] = 0;
}

/* -------------------------------------------------- minimal STUN/TURN */

#define STUN_COOKIE 0x2112A442u
enum {
    A_USERNAME = 0x0006, A_MI = 0x0008, A_ERROR = 0x0009, A_CHANNEL = 0x000C, A_LIFETIME = 0x000D,
    A_XOR_PEER = 0x0012, A_DATA = 0x0013, A_REALM = 0x0014, A_NONCE = 0x0015, A_XOR_RELAYED = 0x0016, A_REQ_TRANSPORT = 0x0019
};
enum { M_ALLOCATE = 0x0003, M_REFRESH = 0x0004, M_CREATEPERM = 0x0008, M_CHANBIND = 0x0009 };
enum { T_SEND_IND = 0x0016, T_DATA_IND = 0x0017 }; /* Send and Data indications */

typedef struct {
    uint8_t b[1024];
    size_t n;
} smsg_t;

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void sm_init(smsg_t *m, uint16_t type) {
    memset(m->b, 0, 20);
    put16(m->b, type);
    uint32_t c = htonl(STUN_COOKIE);
    memcpy(m->b + 4, &c, 4);
    for (int i = 8; i < 20; i++) m->b[i] = (uint8_t)(rand() >> 7);
    m->n = 20;
}
static void sm_attr(smsg_t *m, uint16_t t, const void *v, size_t l) {
    put16(m->b + m->n, t);
    put16(m->b + m->n + 2, (uint16_t)l);
    memcpy(m->b + m->n + 4, v, l);
    size_t pl = (l + 3) & ~(size_t)3;
    memset(m->b + m->n + 4 + l, 0, pl - l);
    m->n += 4 + pl;
    put16(m->b + 2, (uint16_t)(m->n - 20));
}
static void sm_xor_addr(smsg_t *m, uint16_t t, const struct sockaddr_in *a) {
    uint8_t v[8] = {0, 1};
    put16(v + 2, (uint16_t)(ntohs(a->sin_port) ^ (STUN_COOKIE >> 16)));
    uint32_t x = htonl(ntohl(a->sin_addr.s_addr) ^ STUN_COOKIE);
    memcpy(v + 4, &x, 4);
    sm_attr(m, t, v, 8);
}
static void sm_integrity(smsg_t *m, const uint8_t *key, size_t klen) {
    uint8_t mac[20];
    put16(m->b + 2, (uint16_t)(m->n - 20 + 24));
    hmac_sha1(key, klen, m->b, m->n, mac);
    sm_attr(m, A_MI, mac, 20);
}
/* find attribute; returns length or -1 */
static int sm_find(const uint8_t *b, size_t n, uint16_t type, const uint8_t **v) {
    size_t off = 20;
    while (off + 4 <= n) {
        uint16_t t = get16(b + off), l = get16(b + off + 2);
        if (off + 4 + l > n) break;
        if (t == type) { *v = b + off + 4; return l; }
        off += 4 + (((size_t)l + 3) & ~(size_t)3);
    }
    return -1;
}

typedef struct {
    int on;
    char user[256], pass[256];
    struct sockaddr_in peer;
} turncfg_t;

typedef struct {
    char realm[256], nonce[256];
    uint8_t key[16];
} turnauth_t;

/* Send request, wait for the response with the same transaction id (3 tries, 1 s each). */
static int stun_txn(int fd, const smsg_t *req, uint8_t *resp, size_t cap) {
    for (int attempt = 0; attempt < 3; attempt++) {
        if (send(fd, req->b, req->n, 0) != (ssize_t)req->n) return -1;
        uint64_t until = now_ns() + 1000000000ull;
        while (now_ns() < until && !g_stop) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, 100) <= 0) continue;
            ssize_t r = recv(fd, resp, cap, 0);
            if (r >= 20 && !memcmp(resp + 8, req->b + 8, 12)) return (int)r;
        }
    }
    return -1;
}

/* -A/-S USER:PASS argument into cfg; returns 0 or -1. */
static int parse_cred(turncfg_t *cfg, const char *arg, int rest) {
    const char *col = strchr(arg, ':');
    if (!col || col - arg > 200 || strlen(col + 1) > 200) return -1;
    memcpy(cfg->user, arg, (size_t)(col - arg));
    cfg->user[col - arg] = 0;
    strcpy(cfg->pass, col + 1);
    cfg->on = 1;
    if (rest) { /* TURN REST API: username "expiry:user", password base64(hmac(secret, username)) */
        char u[256];
        uint8_t mac[20];
        snprintf(u, sizeof(u), "%ld:%.200s", (long)time(NULL) + 86400, cfg->user);
        hmac_sha1((const uint8_t *)cfg->pass, strlen(cfg->pass), (const uint8_t *)u, strlen(u), mac);
        strcpy(cfg->user, u);
        base64(mac, 20, cfg->pass);
    }
    return 0;
}

static void auth_attrs(smsg_t *m, const turncfg_t *cfg, const turnauth_t *au) {
    sm_attr(m, A_USERNAME, cfg->user, strlen(cfg->user));
    sm_attr(m, A_REALM, au->realm, strlen(au->realm));
    sm_attr(m, A_NONCE, au->nonce, strlen(au->nonce));
    sm_integrity(m, au->key, 16);
}

static int learn_challenge(const uint8_t *r, int rl, const turncfg_t *cfg, turnauth_t *au) {
    const uint8_t *v;
    int l;
    if ((l = sm_find(r, (size_t)rl, A_REALM, &v)) >= 0 && l < 255) { memcpy(au->realm, v, (size_t)l); au->realm[l] = 0; }
    if ((l = sm_find(r, (size_t)rl, A_NONCE, &v)) >= 0 && l < 255) { memcpy(au->nonce, v, (size_t)l); au->nonce[l] = 0; }
    else return -1;
    char kin[800];
    snprintf(kin, sizeof(kin), "%s:%s:%s", cfg->user, au->realm, cfg->pass);
    md5((const uint8_t *)kin, strlen(kin), au->key);
    return 0;
}

static int err_code(const uint8_t *r, int rl) {
    const uint8_t *v;
    int l = sm_find(r, (size_t)rl, A_ERROR, &v);
    return l >= 4 ? (v[2] & 7) * 100 + v[3] : 0;
}

/* Allocate + ChannelBind(0x4000 -> peer), or with perm_only Allocate + CreatePermission(peer).
   Returns 0 on success. */
static int turn_setup(int fd, const turncfg_t *cfg, turnauth_t *au, int perm_only) {
    uint8_t r[1500];
    smsg_t m;
    uint8_t rt[4] = {17, 0, 0, 0};
    int have_auth = 0;
    for (int step = 0; step < 4; step++) {
        sm_init(&m, M_ALLOCATE);
        sm_attr(&m, A_REQ_TRANSPORT, rt, 4);
        if (have_auth) auth_attrs(&m, cfg, au);
        int rl = stun_txn(fd, &m, r, sizeof(r));
        if (rl < 0) return -1;
        uint16_t type = get16(r);
        if (type == 0x0103) break;
        int ec = err_code(r, rl);
        if (type == 0x0113 && (ec == 401 || ec == 438) && learn_challenge(r, rl, cfg, au) == 0) { have_auth = 1; continue; }
        fprintf(stderr, "allocate failed: type 0x%04x error %d\n", type, ec);
        return -1;
    }
    const uint16_t method = perm_only ? M_CREATEPERM : M_CHANBIND;
    for (int step = 0; step < 3; step++) {
        sm_init(&m, method);
        if (!perm_only) {
            uint8_t ch[4] = {0x40, 0x00, 0, 0};
            sm_attr(&m, A_CHANNEL, ch, 4);
        }
        sm_xor_addr(&m, A_XOR_PEER, &cfg->peer);
        auth_attrs(&m, cfg, au);
        int rl = stun_txn(fd, &m, r, sizeof(r));
        if (rl < 0) return -1;
        uint16_t type = get16(r);
        if (type == (method | 0x0100)) return 0;
        int ec = err_code(r, rl);
        if (type == (method | 0x0110) && ec == 438 && learn_challenge(r, rl, cfg, au) == 0) continue;
        fprintf(stderr, "%s failed: type 0x%04x error %d\n", perm_only ? "create permission" : "channel bind", type, ec);
        return -1;
    }
    return -1;
}

static void turn_release(int fd, const turncfg_t *cfg, const turnauth_t *au) {
    smsg_t m;
    uint8_t lt[4] = {0, 0, 0, 0};
    sm_init(&m, M_REFRESH);
    sm_attr(&m, A_LIFETIME, lt, 4);
    auth_attrs(&m, cfg, au);
    (void)send(fd, m.b, m.n, 0); /* fire and forget */
}

/* ----------------------------------------------------------------- load */

typedef struct {
    uint32_t sess;
    uint32_t seq;
    uint64_t t_ns;
} payload_hdr_t;

typedef struct {
    int fd;
    uint32_t sent, recv;
    uint32_t inflight;
    uint64_t last_progress_ns;
    turnauth_t *au; /* TURN mode only */
} lsess_t;

#define HIST_US 100000 /* 1 us buckets up to 100 ms, then overflow */
static uint32_t g_hist[HIST_US + 1];

static double hist_pct(uint64_t total, double p) {
    if (!total) return 0;
    uint64_t want = (uint64_t)(p * (double)total);
    if (want >= total) want = total - 1;
    uint64_t acc = 0;
    for (int i = 0; i <= HIST_US; i++) {
        acc += g_hist[i];
        if (acc > want) return i;
    }
    return HIST_US;
}

static int mode_load(int argc, char **argv) {
    struct sockaddr_in srv;
    int have_s = 0, m = 10, n = 1000, size = 100, window = 0, burst = 50;
    long interval_us = 20000;
    double max_s = 120, drain_ms = 1000;
    turncfg_t tc;
    memset(&tc, 0, sizeof(tc));
    int have_peer = 0, rest = 0, indications = 0;
    const char *cred = NULL;
    int c;
    while ((c = getopt(argc, argv, "s:m:n:l:z:w:B:T:D:A:S:e:I")) != -1) {
        switch (c) {
        case 's': have_s = parse_addr(optarg, &srv) == 0; break;
        case 'm': m = atoi(optarg); break;
        case 'n': n = atoi(optarg); break;
        case 'l': size = atoi(optarg); break;
        case 'z': interval_us = atol(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'B': burst = atoi(optarg); break;
        case 'T': max_s = atof(optarg); break;
        case 'D': drain_ms = atof(optarg); break;
        case 'A':
        case 'S':
            cred = optarg;
            rest = c == 'S';
            break;
        case 'e': have_peer = parse_addr(optarg, &tc.peer) == 0; break;
        case 'I': indications = 1; break;
        default: return 1;
        }
    }
    if (!have_s || m < 1 || n < 1) { fprintf(stderr, "load: need -s IP:PORT, -m>=1, -n>=1\n"); return 1; }
    if (cred && parse_cred(&tc, cred, rest) < 0) { fprintf(stderr, "load: -A/-S USER:PASS\n"); return 1; }
    if (tc.on && !have_peer) { fprintf(stderr, "load: TURN mode needs -e PEER_IP:PORT\n"); return 1; }
    if (indications && !tc.on) { fprintf(stderr, "load: -I needs TURN mode (-A or -S, and -e)\n"); return 1; }
    srand((unsigned)(now_ns() ^ (uint64_t)getpid()));
    if (size < (int)sizeof(payload_hdr_t)) size = (int)sizeof(payload_hdr_t);
    if (size > BUFSZ) size = BUFSZ;
    if (indications && size > BUFSZ - 64) size = BUFSZ - 64; /* a Data indication must fit the receive buffer */
    /* Payload offset: ChannelData header (4), or a Send indication's STUN header (20) +
       XOR-PEER-ADDRESS (12) + DATA attribute header (4). */
    const int hdr = indications ? 36 : tc.on ? 4 : 0;
    const int msglen = indications ? hdr + ((size + 3) & ~3) : hdr + size;
    if (burst < 1) burst = 1;

    lsess_t *ss = calloc((size_t)m, sizeof(lsess_t));
    int ep = epoll_create1(EPOLL_CLOEXEC);
    uint64_t setup0 = now_ns();
    int setup_fail = 0;
    for (int i = 0; i < m && !g_stop; i++) {
        ss[i].fd = udp_socket(NULL);
        if (connect(ss[i].fd, (struct sockaddr *)&srv, sizeof(srv)) < 0) die("connect");
        if (tc.on) {
            ss[i].au = calloc(1, sizeof(turnauth_t));
            if (turn_setup(ss[i].fd, &tc, ss[i].au, indications) < 0) {
                setup_fail++;
                if (setup_fail > 3 && setup_fail * 10 > i) { fprintf(stderr, "load: TURN setup failing, giving up\n"); return 3; }
            }
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, ss[i].fd, &ev) < 0) die("epoll_ctl");
    }
    double setup_s = (double)(now_ns() - setup0) / 1e9;
    static char sbuf[BUFSZ + 64];
    memset(sbuf, 7, sizeof(sbuf));
    if (indications) { /* Send indication: header, XOR-PEER-ADDRESS, DATA; no integrity */
        smsg_t ind;
        sm_init(&ind, T_SEND_IND);
        sm_xor_addr(&ind, A_XOR_PEER, &tc.peer);
        memcpy(sbuf, ind.b, ind.n); /* 32 bytes */
        put16((uint8_t *)sbuf + 2, (uint16_t)(msglen - 20));
        put16((uint8_t *)sbuf + 32, A_DATA);
        put16((uint8_t *)sbuf + 34, (uint16_t)size);
        memset(sbuf + hdr + size, 0, (size_t)(msglen - hdr - size)); /* padding */
    } else if (tc.on) { sbuf[0] = 0x40; sbuf[1] = 0x00; put16((uint8_t *)sbuf + 2, (uint16_t)size); }
    uint32_t ind_seq = 0;
    uint64_t recv_chandata = 0; /* -I: echoes that came back as ChannelData instead of Data indications */

    uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(max_s * 1e9);
    uint64_t tot_sent = 0, tot_recv = 0, send_err = 0, timeouts = 0, rtt_sum_ns = 0, rtt_max_ns = 0;
    uint64_t first_send = 0, last_recv = 0, last_send = 0;
    uint64_t slot = 0, total_slots = (uint64_t)m * (uint64_t)n;
    double slot_ns = interval_us > 0 ? (double)interval_us * 1000.0 / m : 0;
    uint64_t next_tick = t0;
    const uint64_t lost_after_ns = 200000000ull;

#define SEND_ONE(i)                                                              \
    do {                                                                         \
        payload_hdr_t h;                                                         \
        h.sess = (uint32_t)(i);                                                  \
        h.seq = ss[i].sent;                                                      \
        if (indications) { /* a fresh transaction id per indication */           \
            ind_seq++;                                                           \
            memcpy(sbuf + 8, &ind_seq, 4);                                       \
        }                                                                        \
        h.t_ns = now_ns();                                                       \
        memcpy(sbuf + hdr, &h, sizeof(h));                                       \
        if (send(ss[i].fd, sbuf, (size_t)msglen, MSG_DONTWAIT) == msglen) {      \
            if (!first_send) first_send = h.t_ns;                                \
            last_send = h.t_ns;                                                  \
            tot_sent++;                                                          \
            ss[i].inflight++;                                                    \
        } else                                                                   \
            send_err++;                                                          \
        ss[i].sent++;                                                            \
    } while (0)

    if (window > 0)
        for (int i = 0; i < m; i++) {
            ss[i].last_progress_ns = now_ns();
            for (int k = 0; k < window && ss[i].sent < (uint32_t)n; k++) SEND_ONE(i);
        }

    uint64_t all_sent_at = 0;
    struct epoll_event evs[256];
    static char rbuf[MAXBATCH][BUFSZ];
    struct mmsghdr rm[64];
    struct iovec riov[64];
    while (!g_stop) {
        uint64_t now = now_ns();
        if (now >= deadline) break;
        /* ---- send side */
        if (window == 0) {
            if (interval_us > 0) {
                int cap = 4096;
                while (slot < total_slots && cap-- > 0 && (double)(now - t0) >= (double)slot * slot_ns) {
                    int i = (int)(slot % (uint64_t)m);
                    SEND_ONE(i);
                    slot++;
                }
            } else if (now >= next_tick) { /* uclient -z 0 emulation */
                for (int i = 0; i < m; i++)
                    for (int k = 0; k < burst && ss[i].sent < (uint32_t)n; k++) SEND_ONE(i);
                next_tick = now + 1000000ull;
                slot = 0;
                for (int i = 0; i < m; i++) slot += ss[i].sent;
            }
        } else {
            for (int i = 0; i < m; i++) /* lost-packet timeout refills the window */
                if (ss[i].inflight && now - ss[i].last_progress_ns > lost_after_ns) {
                    timeouts += ss[i].inflight;
                    ss[i].inflight = 0;
                    ss[i].last_progress_ns = now;
                    for (int k = 0; k < window && ss[i].sent < (uint32_t)n; k++) SEND_ONE(i);
                }
            slot = 0;
            for (int i = 0; i < m; i++) slot += ss[i].sent;
        }
        if (!all_sent_at && slot >= total_slots) all_sent_at = now_ns();
        if (all_sent_at) {
            if (tot_recv >= tot_sent) break;
            if (now_ns() - all_sent_at > (uint64_t)(drain_ms * 1e6)) break;
        }
        /* ---- receive side */
        int timeout_ms = 1;
        int ne = epoll_wait(ep, evs, 256, timeout_ms);
        if (ne < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int e = 0; e < ne; e++) {
            int i = (int)evs[e].data.u32;
            for (int round = 0; round < 8; round++) {
                for (int k = 0; k < 64; k++) {
                    riov[k].iov_base = rbuf[k];
                    riov[k].iov_len = BUFSZ;
                    memset(&rm[k].msg_hdr, 0, sizeof(rm[k].msg_hdr));
                    rm[k].msg_hdr.msg_iov = &riov[k];
                    rm[k].msg_hdr.msg_iovlen = 1;
                }
                int r = recvmmsg(ss[i].fd, rm, 64, MSG_DONTWAIT, NULL);
                if (r <= 0) break;
                uint64_t t = now_ns();
                for (int k = 0; k < r; k++) {
                    payload_hdr_t h;
                    if (indications && (rbuf[k][0] & 0xC0) == 0x40) { /* ChannelData after all */
                        if (rm[k].msg_len < sizeof(payload_hdr_t) + 4) continue;
                        memcpy(&h, rbuf[k] + 4, sizeof(h));
                        recv_chandata++;
                    } else if (indications) { /* Data indication: the payload is DATA's value */
                        const uint8_t *rb = (const uint8_t *)rbuf[k], *v;
                        if (rm[k].msg_len < 20 || get16(rb) != T_DATA_IND) continue;
                        size_t len = 20 + (size_t)get16(rb + 2);
                        if (len > rm[k].msg_len) continue;
                        int dl = sm_find(rb, len, A_DATA, &v);
                        if (dl < (int)sizeof(payload_hdr_t)) continue;
                        memcpy(&h, v, sizeof(h));
                    } else {
                        if (rm[k].msg_len < sizeof(payload_hdr_t) + (unsigned)hdr) continue;
                        if (hdr && (rbuf[k][0] & 0xC0) != 0x40) continue; /* STUN, not ChannelData */
                        memcpy(&h, rbuf[k] + hdr, sizeof(h));
                    }
                    uint64_t rtt = t > h.t_ns ? t - h.t_ns : 0;
                    rtt_sum_ns += rtt;
                    if (rtt > rtt_max_ns) rtt_max_ns = rtt;
                    uint64_t us = rtt / 1000;
                    g_hist[us > HIST_US ? HIST_US : us]++;
                    tot_recv++;
                    ss[i].recv++;
                    if (ss[i].inflight) ss[i].inflight--;
                }
                last_recv = t;
                if (window > 0) {
                    ss[i].last_progress_ns = t;
                    while (ss[i].inflight < (uint32_t)window && ss[i].sent < (uint32_t)n) SEND_ONE(i);
                }
                if (r < 64) break;
            }
        }
    }
    if (tc.on)
        for (int i = 0; i < m; i++)
            if (ss[i].au && ss[i].au->nonce[0]) turn_release(ss[i].fd, &tc, ss[i].au);
    double dur = (first_send && last_recv > first_send) ? (double)(last_recv - first_send) / 1e9 : 0;
    double send_dur = (first_send && last_send > first_send) ? (double)(last_send - first_send) / 1e9 : 0;
    uint64_t lost = tot_sent > tot_recv ? tot_sent - tot_recv : 0;
    printf("{\"mode\":\"load\",\"turn\":%s,\"data\":\"%s\",\"setup_s\":%.3f,\"setup_failures\":%d,",
           tc.on ? "true" : "false", indications ? "indication" : tc.on ? "channel" : "raw", setup_s, setup_fail);
    if (indications) printf("\"recv_as_channeldata\":%llu,", (unsigned long long)recv_chandata);
    printf("\"sessions\":%d,\"msgs_per_session\":%d,\"size\":%d,\"interval_us\":%ld,"
           "\"window\":%d,\"sent\":%llu,\"recv\":%llu,\"lost\":%llu,\"loss_pct\":%.4f,\"send_err\":%llu,"
           "\"timeouts\":%llu,\"duration_s\":%.4f,\"send_duration_s\":%.4f,\"recv_msgs_per_s\":%.1f,"
           "\"rtt_avg_us\":%.1f,\"rtt_p50_us\":%.0f,\"rtt_p99_us\":%.0f,\"rtt_max_us\":%.0f,",
           m, n, size, interval_us, window, (unsigned long long)tot_sent, (unsigned long long)tot_recv,
           (unsigned long long)lost, tot_sent ? 100.0 * (double)lost / (double)tot_sent : 0.0,
           (unsigned long long)send_err, (unsigned long long)timeouts, dur, send_dur,
           dur > 0 ? (double)tot_recv / dur : 0.0, tot_recv ? (double)rtt_sum_ns / (double)tot_recv / 1000.0 : 0.0,
           hist_pct(tot_recv, 0.50), hist_pct(tot_recv, 0.99), (double)rtt_max_ns / 1000.0);
    rusage_json(stdout);
    printf("}\n");
    fflush(stdout);
    return 0;
}

/* ---------------------------------------------------------------- alloc */

enum { AS_IDLE, AS_ALLOC1, AS_ALLOC2, AS_BIND, AS_DONE, AS_FAILED };

typedef struct {
    int fd;
    uint8_t state, tries, challenges, allocated;
    uint64_t t_start, t_sent;
    turnauth_t au;
    smsg_t req; /* the request in flight (kept for retransmission) */
} asess_t;

static int cmp_u32(const void *a, const void *b) {
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Raise RLIMIT_NOFILE to at least want (the hard limit too, if permitted). */
static int raise_nofile(rlim_t want) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -1;
    if (rl.rlim_cur >= want) return 0;
    if (rl.rlim_max < want) {
        struct rlimit r2 = {want, want};
        if (setrlimit(RLIMIT_NOFILE, &r2) == 0) return 0;
        return -1;
    }
    rl.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static void alloc_send(asess_t *a, uint64_t now) {
    a->t_sent = now;
    (void)send(a->fd, a->req.b, a->req.n, MSG_DONTWAIT); /* a loss is retransmitted */
}

static void alloc_req_allocate(asess_t *a, const turncfg_t *tc, int auth) {
    uint8_t rt[4] = {17, 0, 0, 0};
    sm_init(&a->req, M_ALLOCATE);
    sm_attr(&a->req, A_REQ_TRANSPORT, rt, 4);
    if (auth) auth_attrs(&a->req, tc, &a->au);
}

static void alloc_req_bind(asess_t *a, const turncfg_t *tc) {
    uint8_t ch[4] = {0x40, 0x00, 0, 0};
    sm_init(&a->req, M_CHANBIND);
    sm_attr(&a->req, A_CHANNEL, ch, 4);
    sm_xor_addr(&a->req, A_XOR_PEER, &tc->peer);
    auth_attrs(&a->req, tc, &a->au);
}

static void alloc_req_release(asess_t *a, const turncfg_t *tc) {
    uint8_t lt[4] = {0, 0, 0, 0};
    sm_init(&a->req, M_REFRESH);
    sm_attr(&a->req, A_LIFETIME, lt, 4);
    auth_attrs(&a->req, tc, &a->au);
}

static int mode_alloc(int argc, char **argv) {
    struct sockaddr_in srv;
    int have_s = 0, count = 0, window = 256, have_peer = 0, rest = 0;
    double hold_s = 0, max_s = 120;
    const char *cred = NULL;
    turncfg_t tc;
    memset(&tc, 0, sizeof(tc));
    int c;
    while ((c = getopt(argc, argv, "s:A:S:n:w:e:H:T:")) != -1) {
        switch (c) {
        case 's': have_s = parse_addr(optarg, &srv) == 0; break;
        case 'A':
        case 'S': cred = optarg; rest = c == 'S'; break;
        case 'n': count = atoi(optarg); break;
        case 'w': window = atoi(optarg); break;
        case 'e': have_peer = parse_addr(optarg, &tc.peer) == 0; break;
        case 'H': hold_s = atof(optarg); break;
        case 'T': max_s = atof(optarg); break;
        default: return 1;
        }
    }
    if (!have_s || !cred || count < 1 || window < 1 || max_s <= 0) {
        fprintf(stderr, "alloc: need -s IP:PORT, -A USER:PASS or -S USER:SECRET, -n COUNT>=1, -w>=1\n");
        return 1;
    }
    if (parse_cred(&tc, cred, rest) < 0) { fprintf(stderr, "alloc: -A/-S USER:PASS\n"); return 1; }
    if (window > count) window = count;
    if (raise_nofile((rlim_t)count + 64) < 0) {
        fprintf(stderr, "alloc: cannot raise the open-file limit to %d\n", count + 64);
        return 1;
    }
    srand((unsigned)(now_ns() ^ (uint64_t)getpid()));
    asess_t *ss = calloc((size_t)count, sizeof(asess_t));
    uint32_t *lat_us = calloc((size_t)count, sizeof(uint32_t));
    int *active = calloc((size_t)window, sizeof(int));
    if (!ss || !lat_us || !active) die("calloc");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
    const uint64_t rto_ns = 500000000ull;
    const int max_tries = 3, max_challenges = 3;
    uint64_t t0 = now_ns();
    double reserve_s = max_s / 5 < 15 ? max_s / 5 : 15;
    uint64_t setup_deadline = t0 + (uint64_t)((max_s - reserve_s) * 1e9);
    uint64_t deadline = t0 + (uint64_t)(max_s * 1e9);
    int next = 0, nactive = 0, ok = 0, failed = 0, nlat = 0;
    uint64_t first_req = 0, last_ok = 0, retransmits = 0, sent_reqs = 0;
    int err_codes[7] = {0}; /* failures by class: 3xx..6xx error, timeout, other */
    uint8_t rb[1500];
    struct epoll_event evs[256];

    /* --------------------------------------------------- set-up */
    while (!g_stop && (next < count || nactive > 0)) {
        uint64_t now = now_ns();
        if (now >= setup_deadline) break;
        while (nactive < window && next < count) { /* start new set-ups */
            asess_t *a = &ss[next];
            a->fd = udp_socket(NULL);
            if (connect(a->fd, (struct sockaddr *)&srv, sizeof(srv)) < 0) die("connect");
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)next};
            if (epoll_ctl(ep, EPOLL_CTL_ADD, a->fd, &ev) < 0) die("epoll_ctl");
            alloc_req_allocate(a, &tc, 0);
            a->state = AS_ALLOC1;
            a->tries = 1;
            a->t_start = now_ns();
            if (!first_req) first_req = a->t_start;
            alloc_send(a, a->t_start);
            sent_reqs++;
            active[nactive++] = next++;
        }
        int ne = epoll_wait(ep, evs, 256, 5);
        if (ne < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int e = 0; e < ne; e++) {
            asess_t *a = &ss[evs[e].data.u32];
            for (;;) {
                ssize_t r = recv(a->fd, rb, sizeof(rb), MSG_DONTWAIT);
                if (r < 0) break;
                if (r < 20 || memcmp(rb + 8, a->req.b + 8, 12)) continue; /* stale or foreign */
                if (a->state != AS_ALLOC1 && a->state != AS_ALLOC2 && a->state != AS_BIND) continue;
                uint16_t type = get16(rb);
                int ec = err_code(rb, (int)r);
                uint64_t t = now_ns();
                int done = 0, fail = 0;
                if (a->state == AS_ALLOC1 || a->state == AS_ALLOC2) {
                    if (type == 0x0103) {
                        a->allocated = 1;
                        if (have_peer) {
                            alloc_req_bind(a, &tc);
                            a->state = AS_BIND;
                            a->tries = 1;
                            alloc_send(a, t);
                            sent_reqs++;
                        } else
                            done = 1;
                    } else if (type == 0x0113 && (ec == 401 || ec == 438) && a->challenges < max_challenges &&
                               (a->state == AS_ALLOC1 || ec == 438) && learn_challenge(rb, (int)r, &tc, &a->au) == 0) {
                        a->challenges++;
                        alloc_req_allocate(a, &tc, 1);
                        a->state = AS_ALLOC2;
                        a->tries = 1;
                        alloc_send(a, t);
                        sent_reqs++;
                    } else
                        fail = 1;
                } else { /* AS_BIND */
                    if (type == 0x0109)
                        done = 1;
                    else if (type == 0x0119 && ec == 438 && a->challenges < max_challenges &&
                             learn_challenge(rb, (int)r, &tc, &a->au) == 0) {
                        a->challenges++;
                        alloc_req_bind(a, &tc);
                        a->tries = 1;
                        alloc_send(a, t);
                        sent_reqs++;
                    } else
                        fail = 1;
                }
                if (done) {
                    a->state = AS_DONE;
                    ok++;
                    last_ok = t;
                    uint64_t us = (t - a->t_start) / 1000;
                    lat_us[nlat++] = us > 0xffffffffull ? 0xffffffffu : (uint32_t)us;
                } else if (fail) {
                    a->state = AS_FAILED;
                    failed++;
                    err_codes[ec >= 300 && ec < 700 ? ec / 100 - 3 : 6]++;
                    if (failed <= 5)
                        fprintf(stderr, "alloc: request failed: type 0x%04x error %d\n", type, ec);
                }
                break;
            }
        }
        /* retire finished set-ups, retransmit or give up on the silent ones */
        now = now_ns();
        for (int k = 0; k < nactive;) {
            asess_t *a = &ss[active[k]];
            if (a->state == AS_DONE || a->state == AS_FAILED) {
                active[k] = active[--nactive];
                continue;
            }
            if (now - a->t_sent >= rto_ns) {
                if (a->tries >= max_tries) {
                    a->state = AS_FAILED;
                    failed++;
                    err_codes[4]++;
                    active[k] = active[--nactive];
                    continue;
                }
                a->tries++;
                retransmits++;
                alloc_send(a, now);
            }
            k++;
        }
    }
    int unfinished = count - ok - failed; /* not started or cut off by -T / a signal */
    double secs = last_ok > first_req ? (double)(last_ok - first_req) / 1e9 : 0;
    qsort(lat_us, (size_t)nlat, sizeof(uint32_t), cmp_u32);
#define PCT(p) (nlat ? lat_us[(size_t)((p) * (nlat - 1) + 0.5)] : 0u)
    printf("{\"mode\":\"alloc\",\"requested\":%d,\"window\":%d,\"channel_bind\":%s,\"ok\":%d,\"failed\":%d,"
           "\"unfinished\":%d,\"failed_timeout\":%d,\"failed_4xx\":%d,\"failed_5xx\":%d,\"failed_other\":%d,"
           "\"requests\":%llu,\"retransmits\":%llu,\"seconds\":%.4f,\"allocs_per_s\":%.1f,"
           "\"setup_p50_us\":%u,\"setup_p99_us\":%u,\"setup_max_us\":%u,",
           count, window, have_peer ? "true" : "false", ok, failed, unfinished, err_codes[4], err_codes[1],
           err_codes[2], err_codes[0] + err_codes[3] + err_codes[5] + err_codes[6], (unsigned long long)sent_reqs,
           (unsigned long long)retransmits, secs, secs > 0 ? ok / secs : 0.0, PCT(0.50), PCT(0.99),
           nlat ? lat_us[nlat - 1] : 0u);
#undef PCT
    rusage_json(stdout);
    printf("}\n");
    fflush(stdout);

    /* --------------------------------------------------- hold */
    uint64_t hold_until = now_ns() + (uint64_t)(hold_s * 1e9);
    if (hold_until > setup_deadline) hold_until = setup_deadline;
    while (!g_stop && now_ns() < hold_until) {
        uint64_t left = (hold_until - now_ns()) / 1000000;
        poll(NULL, 0, left > 100 ? 100 : (int)left + 1);
    }

    /* --------------------------------------------------- release: Refresh(lifetime 0), paced */
    uint64_t rel0 = now_ns();
    if (g_stop && deadline > rel0 + 1000000000ull) deadline = rel0 + 1000000000ull;
    const uint64_t rel_rto_ns = 250000000ull;
    int rel_next = 0, rel_ok = 0, rel_err = 0, rel_silent = 0, rel_todo = 0;
    nactive = 0;
    for (int i = 0; i < count; i++) rel_todo += ss[i].allocated;
    for (;;) {
        uint64_t now = now_ns();
        if (now >= deadline) break;
        while (nactive < window && rel_next < count) {
            asess_t *a = &ss[rel_next++];
            if (!a->allocated) continue;
            alloc_req_release(a, &tc);
            a->state = AS_ALLOC1; /* reused: release in flight */
            a->tries = 1;
            a->challenges = 0;
            alloc_send(a, now_ns());
            active[nactive++] = (int)(a - ss);
        }
        if (nactive == 0 && rel_next >= count) break;
        int ne = epoll_wait(ep, evs, 256, 5);
        if (ne < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int e = 0; e < ne; e++) {
            asess_t *a = &ss[evs[e].data.u32];
            for (;;) {
                ssize_t r = recv(a->fd, rb, sizeof(rb), MSG_DONTWAIT);
                if (r < 0) break;
                if (r < 20 || a->state != AS_ALLOC1 || memcmp(rb + 8, a->req.b + 8, 12)) continue;
                uint16_t type = get16(rb);
                int ec = err_code(rb, (int)r);
                if (type == 0x0114 && ec == 438 && a->challenges < 1 && learn_challenge(rb, (int)r, &tc, &a->au) == 0) {
                    a->challenges++;
                    alloc_req_release(a, &tc);
                    a->tries = 1;
                    alloc_send(a, now_ns());
                    continue;
                }
                if (type == 0x0104) rel_ok++;
                else rel_err++;
                a->state = AS_DONE;
            }
        }
        now = now_ns();
        for (int k = 0; k < nactive;) {
            asess_t *a = &ss[active[k]];
            if (a->state != AS_ALLOC1) { active[k] = active[--nactive]; continue; }
            if (now - a->t_sent >= rel_rto_ns) {
                if (a->tries >= 2) {
                    rel_silent++;
                    a->state = AS_FAILED;
                    active[k] = active[--nactive];
                    continue;
                }
                a->tries++;
                alloc_send(a, now);
            }
            k++;
        }
    }
    fprintf(stderr, "udp-floor alloc: released {\"to_release\":%d,\"released\":%d,\"errors\":%d,\"unanswered\":%d,"
            "\"not_done\":%d,\"seconds\":%.3f}\n", rel_todo, rel_ok, rel_err, rel_silent,
            rel_todo - rel_ok - rel_err - rel_silent, (double)(now_ns() - rel0) / 1e9);
    return failed || unfinished ? 4 : 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s fwd|echo|load|alloc [options]  (see header of udp-floor.c)\n", argv[0]);
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sig;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *mode = argv[1];
    argc--;
    argv++;
    if (!strcmp(mode, "fwd")) return mode_fwd(argc, argv);
    if (!strcmp(mode, "echo")) return mode_echo(argc, argv);
    if (!strcmp(mode, "load")) return mode_load(argc, argv);
    if (!strcmp(mode, "alloc")) return mode_alloc(argc, argv);
    fprintf(stderr, "unknown mode %s\n", mode);
    return 1;
}
