
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_store_redis.h"


/*
 * The Redis store's scripts: generic primitives, nothing of calls (the
 * call model is C, ngx_http_hotline_call.c).  Keys, under the prefix P:
 *
 *   P r:<key>     hash, a record: v version, d value; with an inbox also
 *                 sq last seq, by bytes kept, dl seq delivered (reported
 *                 by its consumer's worker), rd seq its client read
 *                 (answered a ping after it), ow the consumer's channel
 *                 ("" none), g the consumer's generation
 *   P m:<key>     list, the inbox's messages (seq sq-len+1 .. sq)
 *   P q           zset, queued record keys by ticket;  P t  ticket counter
 *   P n:<name>    string, a counter
 *   P d           zset, record keys by timer deadline (ms)
 *   P w           zset, workers' channels by last heartbeat (ms)
 *   P o:<channel> set, the keys whose inbox that channel consumes
 *   P history     stream, the facts of ended calls;  P hp:<call id> hash,
 *                 a call's customer and desk's members;  P ht:<call id>
 *                 its transcript;  P ha:<call id> list, its amendments;
 *                 P hd:<day> hash, the day's counts;  P he stream, the
 *                 call ids erased (nodes rewrite their journals);
 *                 P he:<node> string, the last one a node applied
 *
 * A worker's channel carries "m<gen>:<seq>:<s|->:<message>" (a message for
 * its consumer gen; s: the inbox is over its limit) and "r<gen>" (another
 * consumer took the inbox); P queue and P auth are broadcasts.
 *
 * Every script takes ARGV[1] the prefix, ARGV[2] the caller's channel,
 * then operations: a code, the number of its arguments, the arguments.
 */


/* a C constant in a script's text */
#define ngx_http_hotline_lua_str_(n)  #n
#define ngx_http_hotline_lua_str(n)   ngx_http_hotline_lua_str_(n)


/*
 * An append that does not fit makes room by dropping delivered messages,
 * oldest first, until the inbox and it take at most max - max / this: a
 * quarter of the bound at a time, read and cut in one command each, not
 * an LPOP with every append (the embedded store drops one at a time, as
 * room is needed: it gains nothing from batches; docs/directives.md,
 * hotline_replay_buffer)
 */
#define NGX_HOTLINE_REDIS_ROOM_SLACK  4


#define NGX_HOTLINE_LUA_PRELUDE                                               \
"local P, CH = ARGV[1], ARGV[2]\n"                                            \
"local A, na = ARGV, #ARGV\n"                                                 \
"local function rk(k) return P .. 'r:' .. k end\n"                            \
"local function mk(k) return P .. 'm:' .. k end\n"


#define NGX_HOTLINE_LUA_OPS                                                   \
/*                                                                            \
 * the operations: ops[j] = b, the index of the j-th one's count n; its      \
 * code is A[b - 1], its arguments A[b + 1] .. A[b + n]; "|" ends a           \
 * transaction of a batch (no table per operation: each costs Redis more      \
 * than reading ARGV again)                                                   \
 */                                                                           \
"local ops, txs = {}, {}\n"                                                   \
"local i = 3\n"                                                               \
"while i <= na do\n"                                                          \
"  if A[i] == '|' then\n"                                                     \
"    txs[#txs + 1] = ops\n"                                                   \
"    ops = {}\n"                                                              \
"  else\n"                                                                    \
"    ops[#ops + 1] = i + 1\n"                                                 \
"  end\n"                                                                     \
/* a relay's counts without tonumber(), a strtod() each */                    \
"  local n = A[i + 1]\n"                                                      \
"  if n == '2' then i = i + 4\n"                                              \
"  elseif n == '6' then i = i + 8\n"                                          \
"  elseif n == '0' then i = i + 2\n"                                          \
"  else i = i + 2 + tonumber(n) end\n"                                        \
"end\n"                                                                       \
"txs[#txs + 1] = ops\n"


#define NGX_HOTLINE_LUA_BACKLOG                                               \
/*                                                                            \
 * the messages after seq from: {gap, first, messages...} into out; gap 1:    \
 * the first of them are no longer kept; 2: the inbox is behind from          \
 * (Redis went back in time: a restore, a crash without fsync, a              \
 * failover), it goes on after from, as the consumer has everything up to     \
 * it                                                                         \
 */                                                                           \
"local function backlog(k, from, out)\n"                                      \
"  local h = redis.call('HMGET', rk(k), 'sq')\n"                              \
"  local sq = tonumber(h[1] or '0')\n"                                        \
"  local n = redis.call('LLEN', mk(k))\n"                                     \
"  local first = sq - n + 1\n"                                                \
"  local gap = 0\n"                                                           \
"  if from > sq then\n"                                                       \
"    redis.call('DEL', mk(k))\n"                                              \
"    redis.call('HSET', rk(k), 'sq', from, 'by', 0, 'dl', from)\n"            \
"    out[#out + 1] = 2\n"                                                     \
"    out[#out + 1] = from + 1\n"                                              \
"    return\n"                                                                \
"  end\n"                                                                     \
"  if from + 1 < first then gap = 1; from = first - 1 end\n"                  \
"  out[#out + 1] = gap\n"                                                     \
"  out[#out + 1] = from + 1\n"                                                \
"  local msgs = redis.call('LRANGE', mk(k), from - first + 1, -1)\n"          \
"  for j = 1, #msgs do out[#out + 1] = msgs[j] end\n"                         \
"end\n"


ngx_http_hotline_lua_t  ngx_http_hotline_lua[NGX_HOTLINE_LUA_N] = {

    /*
     * read: r key -> {v, d, attached};  i key -> the index record
     * {v, d, attached}, then the record its value names;  q n -> {total,
     * (key, v, d, attached, ticket)...} oldest first;  n name... -> their
     * values (-1: none);  t -> a new ticket;  l key n -> {count, the
     * first's seq, messages...} of the inbox, within n bytes
     */
    { "read",
NGX_HOTLINE_LUA_PRELUDE
NGX_HOTLINE_LUA_OPS
/* a record, with its inbox's state: {v, d, attached} */
"local function rec(k)\n"
"  local h = redis.call('HMGET', rk(k), 'v', 'd', 'ow')\n"
"  if not h[1] then return {0, '', 0} end\n"
"  local at = 0\n"
"  if h[3] and h[3] ~= '' then at = 1 end\n"
"  return {tonumber(h[1]), h[2] or '', at}\n"
"end\n"
"local out = {}\n"
"local function put(r) for j = 1, 3 do out[#out + 1] = r[j] end end\n"
"for oi = 1, #ops do\n"
"  local b = ops[oi]\n"
"  local c = A[b - 1]\n"
"  if c == 'r' then put(rec(A[b + 1]))\n"
"  elseif c == 'i' then\n"
"    local r = rec(A[b + 1])\n"
"    put(r)\n"
"    if r[1] > 0 then put(rec(r[2])) else put({0, '', 0}) end\n"
"  elseif c == 'q' then\n"
"    local ks = redis.call('ZRANGE', P .. 'q', 0, tonumber(A[b + 1]) - 1,\n"
"                          'WITHSCORES')\n"
"    out[#out + 1] = redis.call('ZCARD', P .. 'q')\n"
"    out[#out + 1] = #ks / 2\n"
"    for j = 1, #ks, 2 do\n"
"      out[#out + 1] = ks[j]\n"
"      put(rec(ks[j]))\n"
"      out[#out + 1] = ks[j + 1]\n"
"    end\n"
"  elseif c == 'n' then\n"
"    for j = 1, tonumber(A[b]) do\n"
"      out[#out + 1] = tonumber(redis.call('GET', P .. 'n:' .. A[b + j])\n"
"                               or '-1')\n"
"    end\n"
"  elseif c == 't' then\n"
"    out[#out + 1] = redis.call('INCR', P .. 't')\n"
"  elseif c == 'l' then\n"
"    local sq = tonumber(redis.call('HGET', rk(A[b + 1]), 'sq') or '0')\n"
"    local msgs = redis.call('LRANGE', mk(A[b + 1]), 0, -1)\n"
"    local left, n = tonumber(A[b + 2]), 0\n"
"    while n < #msgs and #msgs[n + 1] <= left do\n"
"      left = left - #msgs[n + 1]\n"
"      n = n + 1\n"
"    end\n"
"    out[#out + 1] = n\n"
"    out[#out + 1] = sq - #msgs + 1\n"
"    for j = 1, n do out[#out + 1] = msgs[j] end\n"
"  end\n"
"end\n"
"return out\n" },

    /*
     * commit: every check first, then every change, or none -> {err, gap,
     * first, messages...} (the last three for an attach).  Codes:
     *   c key version     o key gen ("": none)    p key value    x key
     *   q key ticket max err     u key     n name delta max err ttl init
     *   a key message max force err retry (err 0: left out when there
     *       is no room and no reader)
     *   t key gen from     l key gen seq
     *   T key ms     h the record's fields     H call_id amendment     N
     *   R key version gen key2 message max force err retry [key3 max3
     *       X]: a relay, c, o and a in one (with force 0), and with
     *       12 arguments the transcript's a key3 line max3 0 0 0 (line:
     *       the message without its first byte, X after it)
     */
    { "commit",
NGX_HOTLINE_LUA_PRELUDE
/*
 * the records' fields an operation reads, read once per record (one HMGET)
 * into R[key]: {v, ow, g, sq, by, dl, bk}; the appends keep them up to
 * date, an operation that changes a record otherwise forgets what was read
 * of it
 */
"local R, W, MX = {}, nil, {}\n"
"local function rf(k)\n"
"  local r = R[k]\n"
"  if not r then\n"
"    r = redis.call('HMGET', rk(k), 'v', 'ow', 'g', 'sq', 'by', 'dl', 'bk')\n"
"    R[k] = r\n"
"  end\n"
"  return r\n"
"end\n"
/* an append's bound: the same few in a call, each converted once */
"local function bound(s)\n"
"  local v = MX[s]\n"
"  if not v then\n"
"    v = tonumber(s)\n"
"    MX[s] = v\n"
"  end\n"
"  return v\n"
"end\n"
/*
 * room for len more bytes: what was delivered makes room, oldest first,
 * down to a quarter of max below what the append needs
 * (NGX_HOTLINE_REDIS_ROOM_SLACK): read from the head in pieces of about the
 * number that frees it, then cut by one LTRIM, not an LPOP per append;
 * the bytes left (by) and the last seq (sq) are written by keep(), once
 * per record and script call however many appends it took (W: the
 * records whose sq and by wait), or before an operation that reads the
 * record itself
 */
"local function room(k, r, len, max)\n"
"  if not r[4] then return true end\n"
"  local by = tonumber(r[5] or '0')\n"
"  r[5] = by\n"
/* nothing delivered yet (a transcript: never): nothing to drop */
"  if by + len > max and tonumber(r[6] or '0') > 0 then\n"
"    local sq, dl = tonumber(r[4]), tonumber(r[6])\n"
"    r[4], r[6] = sq, dl\n"
/* the inbox's length: asked once per script call, then kept in r[8] */
"    local n = r[8] or redis.call('LLEN', mk(k))\n"
"    local first = sq - n + 1\n"
"    local keep = max - math.floor(max / "
    ngx_http_hotline_lua_str(NGX_HOTLINE_REDIS_ROOM_SLACK) ") - len\n"
"    local cut = 0\n"
"    while cut < n and by > keep and first + cut <= dl do\n"
"      local want = math.min(n - cut, dl - first - cut + 1)\n"
"      if by > 0 then\n"
"        want = math.min(want, math.floor((by - keep) * n / by) + 2)\n"
"      end\n"
"      local ms = redis.call('LRANGE', mk(k), cut, cut + want - 1)\n"
"      local j = 1\n"
"      while j <= #ms and by > keep do\n"
"        by = by - #ms[j]\n"
"        cut = cut + 1\n"
"        j = j + 1\n"
"      end\n"
"      if #ms < want then break end\n"
"    end\n"
"    if cut > 0 then redis.call('LTRIM', mk(k), cut, -1) end\n"
"    n = n - cut\n"
"    if n == 0 then by = 0 end\n"
"    r[8] = n\n"
"    if by ~= r[5] then\n"
"      W = W or {}\n"
"      W[k] = true\n"
"      r[5] = by\n"
"    end\n"
"  end\n"
"  return by + len <= max or (r[2] and r[2] ~= '' and by + len <= 2 * max)\n"
"end\n"
"local function keep(k)\n"
"  if W and W[k] then\n"
"    local r = R[k]\n"
"    redis.call('HSET', rk(k), 'sq', string.format('%d', r[4]),\n"
"               'by', string.format('%d', r[5]))\n"
"    W[k] = nil\n"
"  end\n"
"end\n"
"local function kept()\n"
"  if W then\n"
"    for k in pairs(W) do keep(k) end\n"
"  end\n"
"end\n"
/*
 * the check of the append whose count is A[b] (key message max force err
 * retry): 0 it goes in, -1 it is left out (no room, no reader, err 0), else
 * the error; refused while a reader is attached: busy, and so is every
 * append after it until the refused one (retry) gets in
 */
"local function admits(k, len, max, err, retry)\n"
"  local r = rf(k)\n"
"  if (retry ~= '1' and r[7] == '1') or not room(k, r, len, max) then\n"
"    if r[2] and r[2] ~= '' then\n"
"      redis.call('HSET', rk(k), 'bk', '1')\n"
"      r[7] = '1'\n"
"      return 102\n"
"    end\n"
"    if err ~= '0' then return tonumber(err) end\n"
"    return -1\n"
"  end\n"
"  return 0\n"
"end\n"
"local function admit(b)\n"
"  return admits(A[b + 1], #A[b + 2], bound(A[b + 3]), A[b + 5], A[b + 6])\n"
"end\n"
/*
 * what the script publishes: channel, a message's head, its body, ... in
 * order (see published()); the body, a relayed message, is the argument
 * itself, copied once into what is published
 */
"local PL, np\n"
"local function pub(ch, head, body)\n"
"  if not PL then\n"
"    PL, np = {ch, head, body}, 3\n"
"    return\n"
"  end\n"
"  PL[np + 1], PL[np + 2], PL[np + 3] = ch, head, body\n"
"  np = np + 3\n"
"end\n"
"local function appends(k, msg, max, force, retry)\n"
"  local r = rf(k)\n"
"  if force == '1' then room(k, r, #msg, max) end\n"
"  if not r[1] then return end\n"
"  local sq = tonumber(r[4] or '0') + 1\n"
"  local by = tonumber(r[5] or '0') + #msg\n"
"  redis.call('RPUSH', mk(k), msg)\n"
"  r[4], r[5] = sq, by\n"
"  if r[8] then r[8] = r[8] + 1 end\n"
"  W = W or {}\n"
"  W[k] = true\n"
"  if retry == '1' and r[7] then\n"
"    redis.call('HDEL', rk(k), 'bk')\n"
"    r[7] = false\n"
"  end\n"
"  if r[2] and r[2] ~= '' then\n"
"    local s = ':-:'\n"
"    if by > max then s = ':s:' end\n"
/* integers as text for Redis: a Lua number goes as %.17g, slower */
"    pub(r[2], 'm' .. r[3] .. ':' .. string.format('%d', sq) .. s, msg)\n"
"  end\n"
"end\n"
"local function append(b)\n"
"  appends(A[b + 1], A[b + 2], bound(A[b + 3]), A[b + 4], A[b + 6])\n"
"end\n"
/*
 * what was published goes out at the end, per channel in order: one
 * message, or several as one "b<len>:<message><len>:<message>..." made
 * by one table.concat() of their pieces
 */
"local function published()\n"
"  if not PL then return end\n"
"  if np == 3 then\n"
"    redis.call('PUBLISH', PL[1], PL[2] .. PL[3])\n"
"    return\n"
"  end\n"
"  local chs, by = {}, {}\n"
"  for j = 1, np, 3 do\n"
"    local l = by[PL[j]]\n"
"    if not l then\n"
"      l = {}\n"
"      by[PL[j]] = l\n"
"      chs[#chs + 1] = PL[j]\n"
"    end\n"
"    l[#l + 1] = j\n"
"  end\n"
"  for j = 1, #chs do\n"
"    local l = by[chs[j]]\n"
"    if #l == 1 then\n"
"      redis.call('PUBLISH', chs[j], PL[l[1] + 1] .. PL[l[1] + 2])\n"
"    else\n"
"      local m, n = {'b'}, 1\n"
"      for i = 1, #l do\n"
"        local h, d = PL[l[i] + 1], PL[l[i] + 2]\n"
"        m[n + 1], m[n + 2], m[n + 3], m[n + 4] = #h + #d, ':', h, d\n"
"        n = n + 4\n"
"      end\n"
"      redis.call('PUBLISH', chs[j], table.concat(m))\n"
"    end\n"
"  end\n"
"end\n"
/*
 * the room under max an append left in k's inbox, as read or written
 * (ngx_http_hotline_txres_t: the node asks it of a transcript), or nil
 */
"local function left(k, max)\n"
"  local r = R[k]\n"
"  if r and r[1] and type(r[5]) == 'number' then\n"
"    return math.max(max - r[5], 0)\n"
"  end\n"
"end\n"
/*
 * a relay, the most frequent transaction: R K V G K2 message max force err
 * retry (c K V, o K G and a K2 ... in one operation; the node sends a
 * relay so, never with force), its count at b, and with 12 arguments the
 * transcript's line after them: K3 max X, the line being the message
 * without its first byte, with X after it (its length is the message's:
 * the line is made only if it goes in); t: the count of a transcript's a
 * K3 ... after it instead, or nil.  The same checks and appends as
 * commit() does for c, o and a, without its loops (a relay alone costs
 * Redis a fifth less, one in a batch an eighth: docs/performance.md); the
 * sender's record: alone, the three fields checked; in a batch through R,
 * read once for all the relays of one sender (a client sends several in
 * one read); with a transcript, the room it has left after the relay
 * ({0, 0, left}: the node sends no line longer than that)
 */
"local function relay(b, t, alone)\n"
"  local me\n"
"  if alone then me = redis.call('HMGET', rk(A[b + 1]), 'v', 'ow', 'g')\n"
"  else me = rf(A[b + 1]) end\n"
"  if (me[1] or '0') ~= A[b + 2] then return {100} end\n"
"  if me[2] ~= CH or me[3] ~= A[b + 3] then return {5} end\n"
"  local e, e2, lk, lmax = admit(b + 3), 0\n"
"  if A[b] == '12' then lk, lmax = A[b + 10], bound(A[b + 11]) end\n"
"  if e <= 0 then\n"
"    if lk then e2 = admits(lk, #A[b + 5], lmax, '0', '0')\n"
"    elseif t then e2 = admit(t) end\n"
"  end\n"
"  if e > 0 or e2 > 0 then\n"
"    kept()\n"
"    return {math.max(e, e2)}\n"
"  end\n"
"  if e == 0 then append(b + 3) end\n"
"  if e2 == 0 and lk then\n"
"    appends(lk, string.sub(A[b + 5], 2) .. A[b + 12], lmax, '0', '0')\n"
"  elseif e2 == 0 and t then append(t) end\n"
/* the transcript's room left, as read or written: {0, 0, left} */
"  if t and A[t + 5] == '0' then lk, lmax = A[t + 1], bound(A[t + 3]) end\n"
"  return {0, 0, lk and left(lk, lmax)}\n"
"end\n"
/* a relay alone: not even the batch is read */
"if A[3] == 'R' and (na == 13 or na == 16 or (na == 21 and A[14] == 'a'))\n"
"then\n"
"  local res = relay(4, na == 21 and 15 or nil, true)\n"
"  kept()\n"
"  published()\n"
"  return res\n"
"end\n"
NGX_HOTLINE_LUA_OPS
NGX_HOTLINE_LUA_BACKLOG
/* Redis' clock, read once and only by the operations that need it */
"local NOW_\n"
"local function now()\n"
"  if not NOW_ then\n"
"    local tm = redis.call('TIME')\n"
"    NOW_ = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"
"  end\n"
"  return NOW_\n"
"end\n"
"local told = false\n"
/* a transaction: every check first, then every change, or none */
"local function commit(ops)\n"
"if ops[1] and A[ops[1] - 1] == 'R' then\n"
"  return relay(ops[1], ops[2])\n"
"end\n"
"local skip\n"
"for oi = 1, #ops do\n"
"  local b = ops[oi]\n"
"  local c = A[b - 1]\n"
"  if c == 'c' then\n"
"    if (rf(A[b + 1])[1] or '0') ~= A[b + 2] then\n"
"      kept()\n"
"      return {100}\n"
"    end\n"
"  elseif c == 'o' then\n"
"    local r = rf(A[b + 1])\n"
"    if (A[b + 2] == '' and r[2] and r[2] ~= '')\n"
"       or (A[b + 2] ~= '' and (r[2] ~= CH or r[3] ~= A[b + 2])) then\n"
"      kept()\n"
"      return {5}\n"
"    end\n"
"  elseif c == 'a' and A[b + 4] ~= '1' then\n"
"    local e = admit(b)\n"
"    if e > 0 then\n"
"      kept()\n"
"      return {e}\n"
"    end\n"
"    if e < 0 then\n"
"      skip = skip or {}\n"
"      skip[oi] = true\n"
"    end\n"
"  elseif c == 'q' then\n"
"    if tonumber(A[b + 3]) > 0\n"
"       and redis.call('ZCARD', P .. 'q') >= tonumber(A[b + 3]) then\n"
"      kept()\n"
"      return {tonumber(A[b + 4])}\n"
"    end\n"
"  elseif c == 'n' then\n"
"    if A[b + 3] ~= '0' and A[b + 6] ~= '1'\n"
"       and tonumber(redis.call('GET', P .. 'n:' .. A[b + 1]) or '0')\n"
"           + tonumber(A[b + 2]) > tonumber(A[b + 3]) then\n"
"      kept()\n"
"      return {tonumber(A[b + 4])}\n"
"    end\n"
"  end\n"
"end\n"
"local out = {0, 0}\n"
"for oi = 1, #ops do\n"
"  local b = ops[oi]\n"
"  local c = A[b - 1]\n"
"  if c ~= 'a' and A[b] ~= '0' and R[A[b + 1]] then\n"
"    keep(A[b + 1])\n"
"    R[A[b + 1]] = nil\n"
"  end\n"
"  if c == 'a' then\n"
"    if not (skip and skip[oi]) then append(b) end\n"
"  elseif c == 'p' then\n"
"    redis.call('HINCRBY', rk(A[b + 1]), 'v', 1)\n"
"    redis.call('HSET', rk(A[b + 1]), 'd', A[b + 2])\n"
"  elseif c == 'x' then\n"
"    local ow = redis.call('HGET', rk(A[b + 1]), 'ow')\n"
"    if ow and ow ~= '' then\n"
"      redis.call('SREM', P .. 'o:' .. ow, A[b + 1])\n"
"    end\n"
"    redis.call('DEL', rk(A[b + 1]), mk(A[b + 1]))\n"
"    redis.call('ZREM', P .. 'q', A[b + 1])\n"
"    redis.call('ZREM', P .. 'd', A[b + 1])\n"
"  elseif c == 'q' then\n"
"    redis.call('ZADD', P .. 'q', A[b + 2], A[b + 1])\n"
"  elseif c == 'u' then\n"
"    redis.call('ZREM', P .. 'q', A[b + 1])\n"
"  elseif c == 'n' then\n"
"    local k = P .. 'n:' .. A[b + 1]\n"
"    local v = 1\n"
"    if A[b + 6] == '1' then redis.call('SET', k, A[b + 2], 'NX')\n"
"    else v = redis.call('INCRBY', k, A[b + 2]) end\n"
/* a decrement that takes a counter with a lifetime to 0 removes it */
"    if A[b + 5] ~= '0' and v <= 0 and tonumber(A[b + 2]) < 0 then\n"
"      redis.call('DEL', k)\n"
"    elseif A[b + 5] ~= '0' then redis.call('PEXPIRE', k, A[b + 5]) end\n"
"  elseif c == 't' then\n"
"    local k = rk(A[b + 1])\n"
"    local h = redis.call('HMGET', k, 'v', 'ow', 'g', 'sq', 'dl', 'rd')\n"
"    if h[1] then\n"
"      local from = tonumber(A[b + 3])\n"
"      if from < 0 then from = tonumber(h[5] or '0') end\n"
/* a takeover: after what the client of the connection replaced read */
"      if h[2] and h[2] ~= '' and (h[2] ~= CH or h[3] ~= A[b + 2]) then\n"
"        pub(h[2], 'r' .. h[3], '')\n"
"        redis.call('SREM', P .. 'o:' .. h[2], A[b + 1])\n"
"        if tonumber(A[b + 3]) < 0 then from = tonumber(h[6] or '0') end\n"
"      end\n"
"      redis.call('HSET', k, 'ow', CH, 'g', A[b + 2])\n"
"      if not h[4] then redis.call('HSET', k, 'sq', 0, 'by', 0, 'dl', 0) end\n"
"      redis.call('SADD', P .. 'o:' .. CH, A[b + 1])\n"
"      local bl = {}\n"
"      backlog(A[b + 1], from, bl)\n"
"      out[2] = bl[1]\n"
"      for j = 2, #bl do out[#out + 1] = bl[j] end\n"
"      redis.call('HSET', k, 'dl', bl[2] - 1, 'rd', bl[2] - 1)\n"
"    end\n"
"  elseif c == 'l' then\n"
"    local k = rk(A[b + 1])\n"
"    local h = redis.call('HMGET', k, 'ow', 'g', 'sq')\n"
"    if h[1] == CH and h[2] == A[b + 2] then\n"
"      redis.call('HSET', k, 'ow', '', 'g', '0', 'dl',"
" math.min(tonumber(A[b + 3]), tonumber(h[3] or '0')))\n"
"      redis.call('SREM', P .. 'o:' .. CH, A[b + 1])\n"
"    end\n"
"  elseif c == 'T' then\n"
"    if A[b + 2] == '0' then redis.call('ZREM', P .. 'd', A[b + 1])\n"
"    else\n"
"      redis.call('ZADD', P .. 'd', now() + tonumber(A[b + 2]), A[b + 1])\n"
"    end\n"
"  elseif c == 'h' then\n"
/* call_id customer agent joined accepted outcome by duration recorded
 * extra transcript, its lifetime (s: hotline_transcript_retention); the
 * stream entry has the facts, P hp: the name and the desk's members,
 * which an erasure deletes; the oldest record goes with its keys */
"    local hs = P .. 'history'\n"
"    if redis.call('XLEN', hs) >= 100000 then\n"
"      local old = redis.call('XRANGE', hs, '-', '+', 'COUNT',"
" redis.call('XLEN', hs) - 99999)\n"
"      for j = 1, #old do\n"
"        local f = old[j][2]\n"
"        for k = 1, #f - 1, 2 do\n"
"          if f[k] == 'call_id' then\n"
"            redis.call('DEL', P .. 'hp:' .. f[k + 1], P .. 'ht:' .. f[k + 1],"
" P .. 'ha:' .. f[k + 1])\n"
"          end\n"
"        end\n"
"        redis.call('XDEL', hs, old[j][1])\n"
"      end\n"
"    end\n"
"    redis.call('XADD', hs, '*', 'call_id', A[b + 1], 'agent', A[b + 3],"
" 'joined', A[b + 4], 'accepted', A[b + 5], 'ended', now(),"
" 'outcome', A[b + 6], 'by', A[b + 7], 'duration', A[b + 8],"
" 'recorded', A[b + 9])\n"
"    redis.call('HSET', P .. 'hp:' .. A[b + 1], 'customer', A[b + 2], 'x',"
" A[b + 10])\n"
"    redis.call('EXPIRE', P .. 'hp:' .. A[b + 1], 34560000)\n"
"    if A[b + 11] ~= '' then\n"
"      redis.call('SET', P .. 'ht:' .. A[b + 1], A[b + 11], 'EX', A[b + 12])\n"
"    end\n"
"    local dk = P .. 'hd:' .. math.floor(now() / 86400000)\n"
"    redis.call('HINCRBY', dk, 'calls', 1)\n"
"    redis.call('HINCRBY', dk, A[b + 6], 1)\n"
"    if tonumber(A[b + 5]) > 0 then\n"
"      redis.call('HINCRBY', dk, 'answered', 1)\n"
"      redis.call('HINCRBY', dk, 'talk', A[b + 8])\n"
"    end\n"
"    redis.call('EXPIRE', dk, 8640000)\n"
"  elseif c == 'H' then\n"
/* call_id, an amendment of its record; one that erases the call's
 * personal data deletes its name, desk's members and transcript, and
 * rewrites the other amendments, and any later one, without their free
 * texts (a text's quotes are escaped: no text holds the raw mark); the
 * call's id goes to P he, again for a later one that had a text (the
 * journal of the node that wrote it is rewritten then) */
"    local ak = P .. 'ha:' .. A[b + 1]\n"
"    local M = '\"erased\":'\n"
"    local function bare(s)\n"
"      local o = cjson.decode(s)\n"
"      local had = o.comment ~= nil"
" or (type(o.note) == 'table' and o.note.text ~= nil)\n"
"      o.comment = nil\n"
"      if type(o.note) == 'table' then o.note.text = nil end\n"
"      return cjson.encode(o), had\n"
"    end\n"
"    local function listed()\n"
"      redis.call('XADD', P .. 'he', 'MINID', '~', now() - 34560000000, '*',"
" 'call_id', A[b + 1])\n"
"    end\n"
"    local l = redis.call('LRANGE', ak, 0, -1)\n"
"    local v, had = A[b + 2], false\n"
"    if string.find(A[b + 2], M, 1, true) then\n"
"      redis.call('DEL', P .. 'ht:' .. A[b + 1], P .. 'hp:' .. A[b + 1])\n"
"      listed()\n"
"      for j = 1, #l do redis.call('LSET', ak, j - 1, (bare(l[j]))) end\n"
"    else\n"
"      for j = 1, #l do\n"
"        if string.find(l[j], M, 1, true) then\n"
"          v, had = bare(A[b + 2])\n"
"          if had then listed() end\n"
"          break\n"
"        end\n"
"      end\n"
"    end\n"
"    redis.call('RPUSH', ak, v)\n"
"    redis.call('EXPIRE', ak, 34560000)\n"
"  elseif c == 'N' and not told then\n"
"    told = true\n"
"    redis.call('PUBLISH', P .. 'queue', '1')\n"
"  end\n"
"end\n"
/* a last append that may be left out: {0, 0, the room it left} */
"local b = ops[#ops]\n"
"if b and A[b - 1] == 'a' and A[b + 5] == '0' and #out == 2 then\n"
"  out[3] = left(A[b + 1], bound(A[b + 3]))\n"
"end\n"
"return out\n"
"end\n"
/* one transaction: its result; a batch: theirs, in order */
"local res\n"
"if #txs == 1 then res = commit(txs[1])\n"
"else\n"
"  res = {}\n"
"  for j = 1, #txs do res[j] = commit(txs[j]) end\n"
"end\n"
"kept()\n"
"published()\n"
"return res\n" },

    /*
     * due: ARGV[3] max keys, [4] grace ms, [5] 1: may reap silent
     * workers, [6] this host's channel prefix, [7] a channel of this
     * host whose process is gone ("") -> {0, quiet channels of this host
     * (count, then them), orphans (count, them), due timers (count,
     * them)}; an orphan's inbox is let go, its timer set to grace
     */
    { "due",
"local P, CH = ARGV[1], ARGV[2]\n"
"local TM = redis.call('TIME')\n"
"local NOW = tonumber(TM[1]) * 1000 + math.floor(tonumber(TM[2]) / 1000)\n"
"local MAX, GRACE, HOST = tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[6]\n"
"local orphans = {}\n"
"local function reap(ch)\n"
"  local ks = redis.call('SMEMBERS', P .. 'o:' .. ch)\n"
"  for j = 1, #ks do\n"
"    local k = P .. 'r:' .. ks[j]\n"
"    if redis.call('HGET', k, 'ow') == ch then\n"
"      redis.call('HSET', k, 'ow', '', 'g', '0')\n"
"      redis.call('ZADD', P .. 'd', NOW + GRACE, ks[j])\n"
"      orphans[#orphans + 1] = ks[j]\n"
"    end\n"
"  end\n"
"  redis.call('DEL', P .. 'o:' .. ch)\n"
"  redis.call('ZREM', P .. 'w', ch)\n"
"end\n"
"if ARGV[5] == '1' then\n"
"  local dead = redis.call('ZRANGEBYSCORE', P .. 'w', '-inf', NOW - 10000)\n"
"  for j = 1, #dead do reap(dead[j]) end\n"
"end\n"
/* a worker that said it exits */
"local gone = redis.call('ZRANGEBYSCORE', P .. 'w', '-inf', 0)\n"
"for j = 1, #gone do reap(gone[j]) end\n"
"if ARGV[7] ~= '' and string.sub(ARGV[7], 1, #HOST) == HOST then\n"
"  local hb = redis.call('ZSCORE', P .. 'w', ARGV[7])\n"
"  if hb and tonumber(hb) < NOW - 2000 then reap(ARGV[7]) end\n"
"end\n"
"redis.call('ZADD', P .. 'w', NOW, CH)\n"
"local out = {0, 0}\n"
"local quiet = redis.call('ZRANGEBYSCORE', P .. 'w', '-inf', NOW - 2000)\n"
"for j = 1, #quiet do\n"
"  if string.sub(quiet[j], 1, #HOST) == HOST then\n"
"    out[2] = out[2] + 1\n"
"    out[#out + 1] = quiet[j]\n"
"  end\n"
"end\n"
"out[#out + 1] = #orphans\n"
"for j = 1, #orphans do out[#out + 1] = orphans[j] end\n"
"local due = redis.call('ZRANGEBYSCORE', P .. 'd', '-inf', NOW, 'LIMIT',"
" 0, MAX)\n"
"out[#out + 1] = #due\n"
"for j = 1, #due do out[#out + 1] = due[j] end\n"
"return out\n" },

    /*
     * sync: ARGV[3] key, [4] gen, [5] seq received -> {0, gap, first,
     * messages after seq}; {10}: no such record; {5}: not this
     * consumer's any more
     */
    { "sync",
NGX_HOTLINE_LUA_PRELUDE
NGX_HOTLINE_LUA_BACKLOG
"local h = redis.call('HMGET', rk(A[3]), 'v', 'ow', 'g')\n"
"if not h[1] then return {10} end\n"
"if h[2] ~= CH or h[3] ~= A[4] then return {5} end\n"
"local out = {0}\n"
"backlog(A[3], tonumber(A[5]), out)\n"
"return out\n" },

    /*
     * delivered: ARGV[3] key, [4] gen, [5] seq, [6] "r": the client read
     * up to seq, which is not kept for a replay any more (as the embedded
     * store forgets it) -> {0}: makes room
     */
    { "delivered",
"local P, CH = ARGV[1], ARGV[2]\n"
"local k = P .. 'r:' .. ARGV[3]\n"
"local h = redis.call('HMGET', k, 'ow', 'g', 'sq', 'dl', 'by')\n"
"if h[1] == CH and h[2] == ARGV[4] then\n"
"  local sq = tonumber(h[3] or '0')\n"
"  local dl = math.min(tonumber(ARGV[5]), sq)\n"
"  if dl > tonumber(h[4] or '0') then redis.call('HSET', k, 'dl', dl) end\n"
"  if ARGV[6] == 'r' then\n"
/* what was read goes: its bytes counted from one LRANGE, cut by one LTRIM */
"    local m = P .. 'm:' .. ARGV[3]\n"
"    local n = redis.call('LLEN', m)\n"
"    local cut = math.max(0, math.min(n, dl - (sq - n + 1) + 1))\n"
"    local by = tonumber(h[5] or '0')\n"
"    if cut > 0 then\n"
"      local ms = redis.call('LRANGE', m, 0, cut - 1)\n"
"      for j = 1, #ms do by = by - #ms[j] end\n"
"      redis.call('LTRIM', m, cut, -1)\n"
"    end\n"
"    if cut >= n then by = 0 end\n"
"    redis.call('HSET', k, 'rd', dl, 'by', by)\n"
"  end\n"
"end\n"
"return {0}\n" },

    /* kv get: KEYS[1] -> {found, value, pttl} */
    { "kv_get",
"local v = redis.call('GET', KEYS[1])\n"
"if not v then return {0} end\n"
"return {1, v, redis.call('PTTL', KEYS[1])}\n" },

    /* kv incr: KEYS[1], ARGV[1] ttl ms -> {value, pttl} */
    { "kv_incr",
"local n = redis.call('INCR', KEYS[1])\n"
"if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end\n"
"return {n, redis.call('PTTL', KEYS[1])}\n" },

    /* GCRA: KEYS[1], ARGV[1] interval ms, [2] burst
     * -> {allowed, retry after ms, tat} on Redis' clock */
    { "limit",
"local tm = redis.call('TIME')\n"
"local now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"
"local iv = tonumber(ARGV[1])\n"
"local tat = tonumber(redis.call('GET', KEYS[1]) or now)\n"
"if tat < now then tat = now end\n"
"local tau = iv * tonumber(ARGV[2])\n"
"if tat - now > tau then return {0, tat - now - tau, tat} end\n"
"tat = tat + iv\n"
"redis.call('SET', KEYS[1], string.format('%d', tat), 'PX',"
" math.max(tat - now, 1))\n"
"return {1, 0, tat}\n" },

    /* history: KEYS[1] the P history stream, ARGV[1] where to start
     * ("+" or "(<id>": below it), [2] page size, [3] agent or "",
     * [4] outcome or "", [5] most entries to look at, [6] a call id or
     * "" (its transcript too), [7] "1": messages not done, [8] the
     * prefix -> {0, id of the next page's start or "", (id, call_id,
     * customer, agent, joined, accepted, ended, outcome, by, duration,
     * recorded, extra, transcript, n, n amendments)...} newest first; the
     * next page starts below the last record, or below the last entry
     * looked at when that many did not fill the page */
    { "history",
"local F = {'call_id', 'customer', 'agent', 'joined', 'accepted',"
" 'ended', 'outcome', 'by', 'duration', 'recorded', 'x'}\n"
"local hi, limit, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[5])\n"
"local P = ARGV[8]\n"
"local out = {0, ''}\n"
"local n, last = 0, ''\n"
"while budget > 0 do\n"
"  local b = redis.call('XREVRANGE', KEYS[1], hi, '-', 'COUNT',"
" math.min(budget, 256))\n"
"  if #b == 0 then return out end\n"
"  for i = 1, #b do\n"
"    local id, f, h = b[i][1], b[i][2], {}\n"
"    for j = 1, #f - 1, 2 do h[f[j]] = f[j + 1] end\n"
"    local am = {}\n"
"    local ok = (ARGV[3] == '' or h.agent == ARGV[3])"
" and (ARGV[4] == '' or h.outcome == ARGV[4])"
" and (ARGV[6] == '' or h.call_id == ARGV[6])\n"
"    if ok and h.call_id then\n"
"      am = redis.call('LRANGE', P .. 'ha:' .. h.call_id, 0, -1)\n"
"    end\n"
"    if ok and ARGV[7] == '1' then\n"
"      ok = h.outcome == 'message'\n"
"      for j = 1, #am do\n"
"        if string.find(am[j], '\"done\":', 1, true) then ok = false end\n"
"      end\n"
"    end\n"
"    if ok then\n"
"      if n == limit then out[2] = last; return out end\n"
"      n = n + 1\n"
"      last = id\n"
"      out[#out + 1] = id\n"
/* the name and the desk's members: P hp: (none once erased), or the
 * entry itself when an older version wrote it */
"      local pr = redis.call('HMGET', P .. 'hp:' .. h.call_id, 'customer',"
" 'x')\n"
"      h.customer = pr[1] or h.customer\n"
"      h.x = pr[2] or h.x\n"
"      for k = 1, #F do out[#out + 1] = h[F[k]] or '' end\n"
"      if ARGV[6] ~= '' then\n"
"        out[#out + 1] = redis.call('GET', P .. 'ht:' .. h.call_id) or ''\n"
"      else\n"
"        out[#out + 1] = ''\n"
"      end\n"
"      out[#out + 1] = #am\n"
"      for j = 1, #am do out[#out + 1] = am[j] end\n"
"      if ARGV[6] ~= '' then return out end\n"
"    end\n"
"    budget = budget - 1\n"
"    hi = '(' .. id\n"
"    if budget == 0 then out[2] = id; return out end\n"
"  end\n"
"end\n"
"return out\n" },

    /* days: KEYS[1] the P history stream, ARGV[1] P hd:, [2] the first
     * UTC day, [3] days, [4...] fields -> {0, per day from the first,
     * the fields' counts} */
    { "days",
"local out = {0}\n"
"for d = tonumber(ARGV[2]), tonumber(ARGV[2]) + tonumber(ARGV[3]) - 1 do\n"
"  local v = redis.call('HMGET', ARGV[1] .. d, unpack(ARGV, 4))\n"
"  for i = 1, #v do out[#out + 1] = tonumber(v[i] or '0') end\n"
"end\n"
"return out\n" },

    /* kv attempt: KEYS[1] the secret, [2] the counter, [3] the lock;
     * ARGV[1] max, [2] ttl ms -> {retry after ms (0: not locked), the
     * attempt's number, found, value}: the lock checked, the attempt
     * counted, the secret read or the lock set, in one step */
    { "kv_attempt",
"local l = redis.call('PTTL', KEYS[3])\n"
"if l > 0 or l == -1 then return {math.max(l, 1), 0, 0} end\n"
"local n = redis.call('INCR', KEYS[2])\n"
"if n == 1 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end\n"
"if n > tonumber(ARGV[1]) then\n"
"  redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])\n"
"  return {tonumber(ARGV[2]), n, 0}\n"
"end\n"
"local v = redis.call('GET', KEYS[1])\n"
"if not v then return {0, n, 0} end\n"
"return {0, n, 1, v}\n" },

    /* erasures: KEYS[1] the P he stream, ARGV[1] the id seen last (""
     * at first: the node's cursor, or the start), [2] most, [3] the
     * node's name, [4] an id to keep as its cursor or "" -> {0, the last
     * id, call ids...} */
    { "erasures",
"local ck = KEYS[1] .. ':' .. ARGV[3]\n"
"if ARGV[4] ~= '' then redis.call('SET', ck, ARGV[4], 'EX', 34560000) end\n"
"local after = ARGV[1]\n"
"if after == '' then after = redis.call('GET', ck) or '0-0' end\n"
"local e = redis.call('XRANGE', KEYS[1], '(' .. after, '+', 'COUNT',"
" tonumber(ARGV[2]))\n"
"local out = {0, after}\n"
"for i = 1, #e do\n"
"  out[2] = e[i][1]\n"
"  out[#out + 1] = e[i][2][2] or ''\n"
"end\n"
"return out\n" }
};
