
/*
 * Copyright (C) hotline authors
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_http_hotline_store_redis.h"


/*
 * The Redis store's scripts: every change of more than one key runs in
 * one of them, so it is atomic (two agents never take the same call, a
 * ticket is never given twice).  Keys, under the configured prefix P:
 *
 *   P p:<token>     hash, a party: r role (1 customer, 2 agent), st state
 *                   (1 waiting, 2 active, 3 ended, 4 idle), id call id,
 *                   nm name, nj name as JSON, pe peer token, ow owner
 *                   channel ("" while detached), g owner's attach
 *                   generation, sq last seq, by bytes buffered, dl seq
 *                   delivered (reported by its worker), tk ticket, jn
 *                   joined ms, ac accepted ms, ip a customer's address
 *   P m:<token>     list, the party's buffered messages (seq sq-len+1..sq)
 *   P c:<call id>   customer token;  P a:<agent name>  agent token
 *   P q             zset, waiting customers by ticket;  P t  ticket counter
 *   P d             zset, detached parties by grace deadline (ms)
 *   P s             hash, gauges: ac active calls, on agents online,
 *                   bu agents busy, av average handling time (ms)
 *   P w             zset, workers by last heartbeat;  P o:<channel>  set
 *                   of the tokens a worker owns
 *
 * A worker's channel carries "m<gen>:<seq>:<message>" (a buffered message
 * for the party attached with gen) and "r<gen>" (replaced); P queue says
 * that the queue or the agents changed.
 */


const char  *ngx_http_hotline_lua_prelude =
"local P = ARGV[1]\n"
"local LIMIT = tonumber(ARGV[2])\n"
"local GRACE = tonumber(ARGV[3])\n"
"local TTL = tonumber(ARGV[4])\n"
"local AVG = tonumber(ARGV[5])\n"
"local CH = ARGV[6]\n"
"local GEN = ARGV[7]\n"
"local QCH = P .. 'queue'\n"
"local TM = redis.call('TIME')\n"
"local NOW = tonumber(TM[1]) * 1000 + math.floor(tonumber(TM[2]) / 1000)\n"
"local REASON = {'hangup', 'rejected', 'cancelled', 'gone', 'banned'}\n"
"local function pk(t) return P .. 'p:' .. t end\n"
"local function mk(t) return P .. 'm:' .. t end\n"
"local function touch(t)\n"
"  redis.call('PEXPIRE', pk(t), TTL)\n"
"  redis.call('PEXPIRE', mk(t), TTL)\n"
"end\n"
/*
 * appends a message for a party; -1: no room (its peer_backlog).  Room
 * is made by dropping what its worker reported delivered (dl), oldest
 * first; as on the embedded store, a connected party may fall behind by
 * twice the buffer, a detached one by the buffer
 */
"local function append(t, msg, force)\n"
"  local k = pk(t)\n"
"  local h = redis.call('HMGET', k, 'ow', 'g', 'sq', 'by', 'dl')\n"
"  if not h[1] then return 0 end\n"
"  local ow, sq, by, dl = h[1], tonumber(h[3]), tonumber(h[4]),"
" tonumber(h[5])\n"
"  local len = #msg\n"
"  if by + len > LIMIT then\n"
"    local m = mk(t)\n"
"    local n = redis.call('LLEN', m)\n"
"    local first = sq - n + 1\n"
"    while n > 0 and by + len > LIMIT and first <= dl do\n"
"      by = by - #redis.call('LPOP', m)\n"
"      n = n - 1\n"
"      first = first + 1\n"
"    end\n"
"    if n == 0 then by = 0 end\n"
"    if by + len > LIMIT and force == 0"
" and (ow == '' or by + len > 2 * LIMIT) then\n"
"      redis.call('HSET', k, 'by', by)\n"
"      return -1\n"
"    end\n"
"  end\n"
"  sq = sq + 1\n"
"  if redis.call('RPUSH', mk(t), msg) == 1 then\n"
"    redis.call('PEXPIRE', mk(t), TTL)\n"
"  end\n"
"  redis.call('HSET', k, 'sq', sq, 'by', by + len)\n"
"  if ow ~= '' then\n"
"    redis.call('PUBLISH', ow, 'm' .. h[2] .. ':' .. sq .. ':' .. msg)\n"
"  end\n"
"  return sq\n"
"end\n"
/* a party in a call comes back: its peer hears (reconnecting and) back */
"local function back(t)\n"
"  local h = redis.call('HMGET', pk(t), 'ow', 'st', 'pe')\n"
"  if h[2] ~= '2' or not h[3] or h[3] == '' then return end\n"
"  if h[1] ~= '' then\n"
"    append(h[3], '{\"type\":\"peer\",\"state\":\"reconnecting\"', 1)\n"
"  end\n"
"  append(h[3], '{\"type\":\"peer\",\"state\":\"back\"', 1)\n"
"end\n"
/* the party if the caller's attach owns it */
"local function current(t)\n"
"  local h = redis.call('HMGET', pk(t), 'ow', 'g', 'r', 'st', 'pe', 'sq')\n"
"  if h[1] ~= CH or h[2] ~= GEN then return nil end\n"
"  return h\n"
"end\n"
"local function attach(t)\n"
"  local k = pk(t)\n"
"  local h = redis.call('HMGET', k, 'ow', 'g')\n"
"  if h[1] and h[1] ~= '' then\n"
"    redis.call('PUBLISH', h[1], 'r' .. h[2])\n"
"    redis.call('SREM', P .. 'o:' .. h[1], t)\n"
"  end\n"
"  redis.call('ZREM', P .. 'd', t)\n"
"  redis.call('HSET', k, 'ow', CH, 'g', GEN)\n"
"  redis.call('SADD', P .. 'o:' .. CH, t)\n"
"  redis.call('PEXPIRE', P .. 'o:' .. CH, TTL)\n"
"  touch(t)\n"
"end\n"
/* appends gap, first seq and the messages after last to out */
"local function backlog(t, last, out)\n"
"  local sq = tonumber(redis.call('HGET', pk(t), 'sq'))\n"
"  local n = redis.call('LLEN', mk(t))\n"
"  local first = sq - n + 1\n"
"  local gap = 0\n"
"  if last > sq then last = sq end\n"
"  if last + 1 < first then gap = 1; last = first - 1 end\n"
"  out[#out + 1] = gap\n"
"  out[#out + 1] = last + 1\n"
"  local msgs = redis.call('LRANGE', mk(t), last - first + 1, -1)\n"
"  for i = 1, #msgs do out[#out + 1] = msgs[i] end\n"
"end\n"
/*
 * ends the call of customer ct (who: the rejecting agent's name); appends
 * its record: reason, duration, call id, agent, customer, joined,
 * accepted, by, recorded; the record also goes to the P history stream,
 * and the day's counters (P hd:<UTC day>) count it
 */
"local function finish(ct, reason, by, out, who)\n"
"  local k = pk(ct)\n"
"  local h = redis.call('HMGET', k, 'st', 'pe', 'id', 'ac', 'nm', 'jn',"
" 'rc')\n"
"  local dur = 0\n"
"  local at = nil\n"
"  local an = who or ''\n"
"  if h[1] == '1' then\n"
"    redis.call('ZREM', P .. 'q', ct)\n"
"  elseif h[1] == '2' then\n"
"    redis.call('HINCRBY', P .. 's', 'ac', -1)\n"
"    redis.call('HINCRBY', P .. 's', 'bu', -1)\n"
"    if h[2] and h[2] ~= '' then at = h[2] end\n"
"    local ms = NOW - tonumber(h[4])\n"
"    if ms < 0 then ms = 0 end\n"
"    dur = math.floor((ms + 500) / 1000)\n"
"    local avg = tonumber(redis.call('HGET', P .. 's', 'av') or AVG)\n"
"    avg = avg - math.floor(avg / 8) + math.floor(ms / 8)\n"
"    redis.call('HSET', P .. 's', 'av', avg)\n"
"    if at then\n"
"      redis.call('HSET', pk(at), 'st', 4, 'pe', '')\n"
"      an = redis.call('HGET', pk(at), 'nm') or ''\n"
"    end\n"
"  end\n"
"  redis.call('HSET', k, 'st', 3, 'pe', '')\n"
"  local ev = '{\"type\":\"ended\",\"call_id\":\"' .. h[3] .."
" '\",\"reason\":\"' .. REASON[reason + 1] .. '\"'\n"
"  if reason == 0 then\n"
"    if by == 1 then ev = ev .. ',\"by\":\"customer\"'\n"
"    else ev = ev .. ',\"by\":\"agent\"' end\n"
"  end\n"
"  ev = ev .. ',\"duration\":' .. dur\n"
"  append(ct, ev, 1)\n"
"  if at then append(at, ev, 1) end\n"
"  redis.call('PUBLISH', QCH, '1')\n"
"  local acc = tonumber(h[4]) or 0\n"
"  if h[1] ~= '2' then acc = 0 end\n"
"  local rec = {reason, dur, h[3], an, h[5] or '', tonumber(h[6]) or 0,"
" acc, by, tonumber(h[7]) or 0}\n"
"  for i = 1, #rec do out[#out + 1] = rec[i] end\n"
"  redis.call('XADD', P .. 'history', 'MAXLEN', '~', 100000, '*',"
" 'call_id', h[3], 'customer', h[5] or '', 'agent', an, 'joined',"
" rec[6], 'accepted', acc, 'ended', NOW, 'outcome', REASON[reason + 1],"
" 'by', by, 'duration', dur, 'recorded', rec[9])\n"
"  local dk = P .. 'hd:' .. math.floor(NOW / 86400000)\n"
"  redis.call('HINCRBY', dk, 'calls', 1)\n"
"  redis.call('HINCRBY', dk, REASON[reason + 1], 1)\n"
"  if acc > 0 then\n"
"    redis.call('HINCRBY', dk, 'answered', 1)\n"
"    redis.call('HINCRBY', dk, 'talk', dur)\n"
"  end\n"
"  redis.call('EXPIRE', dk, 8640000)\n"
"end\n"
"local function free(t)\n"
"  local k = pk(t)\n"
"  local h = redis.call('HMGET', k, 'r', 'st', 'id', 'nm', 'ow')\n"
"  redis.call('ZREM', P .. 'd', t)\n"
"  if not h[1] then return end\n"
"  if h[1] == '1' then\n"
"    redis.call('DEL', P .. 'c:' .. h[3])\n"
"    if h[2] == '1' then redis.call('ZREM', P .. 'q', t) end\n"
"  else\n"
"    if redis.call('GET', P .. 'a:' .. h[4]) == t then\n"
"      redis.call('DEL', P .. 'a:' .. h[4])\n"
"    end\n"
"    redis.call('HINCRBY', P .. 's', 'on', -1)\n"
"  end\n"
"  if h[5] and h[5] ~= '' then redis.call('SREM', P .. 'o:' .. h[5], t)"
" end\n"
"  redis.call('DEL', k, mk(t))\n"
"end\n"
/* the connection is gone: the grace period starts */
"local function detach(t, delivered)\n"
"  local k = pk(t)\n"
"  local h = redis.call('HMGET', k, 'ow', 'r', 'st', 'pe', 'sq')\n"
"  if not h[2] then return end\n"
"  if h[1] and h[1] ~= '' then redis.call('SREM', P .. 'o:' .. h[1], t)"
" end\n"
"  redis.call('HSET', k, 'ow', '', 'g', '0', 'dl', delivered)\n"
"  redis.call('ZADD', P .. 'd', NOW + GRACE, t)\n"
"  if h[2] == '1' and h[3] == '3' and delivered >= tonumber(h[5]) then\n"
"    free(t)\n"
"  elseif h[3] == '2' and h[4] ~= '' then\n"
"    append(h[4], '{\"type\":\"peer\",\"state\":\"reconnecting\"', 1)\n"
"  end\n"
"end\n"
/* a worker is gone: its parties detach, as if their connections were */
"local function reap(ch)\n"
"  local ts = redis.call('SMEMBERS', P .. 'o:' .. ch)\n"
"  for j = 1, #ts do\n"
"    if redis.call('HGET', pk(ts[j]), 'ow') == ch then detach(ts[j], 0) end\n"
"  end\n"
"  redis.call('DEL', P .. 'o:' .. ch)\n"
"  redis.call('ZREM', P .. 'w', ch)\n"
"end\n";


ngx_http_hotline_lua_t  ngx_http_hotline_lua[NGX_HOTLINE_LUA_N] = {

    /* join: ARGV[8] token, [9] call id, [10] name, [11] name JSON,
     * [12] queue size, [13] daily limit (0: none), [14] UTC day,
     * [15] client address -> {err, ticket} */
    { "join",
"local t = ARGV[8]\n"
"if redis.call('ZCARD', P .. 'q') >= tonumber(ARGV[12]) then"
" return {8} end\n"
"if ARGV[13] ~= '0' then\n"
"  local dk = P .. 'day:' .. ARGV[14]\n"
"  if tonumber(redis.call('GET', dk) or '0') >= tonumber(ARGV[13]) then"
" return {14} end\n"
"  redis.call('INCR', dk)\n"
"  redis.call('PEXPIRE', dk, 172800000)\n"
"end\n"
"local tk = redis.call('INCR', P .. 't')\n"
"redis.call('HSET', pk(t), 'r', 1, 'st', 1, 'id', ARGV[9], 'nm', ARGV[10],"
" 'nj', ARGV[11], 'pe', '', 'ow', '', 'g', '0', 'sq', 0, 'by', 0,"
" 'dl', 0, 'tk', tk, 'jn', NOW, 'ac', 0, 'rc', 0, 'ip', ARGV[15])\n"
"redis.call('SET', P .. 'c:' .. ARGV[9], t, 'PX', TTL)\n"
"redis.call('ZADD', P .. 'q', tk, t)\n"
"attach(t)\n"
"redis.call('PUBLISH', QCH, '1')\n"
"return {0, tk}\n" },

    /* agent: ARGV[8] new token, [9] name, [10] name JSON
     * -> {err, resumed, token, call id, gap, first seq, messages...};
     * an agent that takes its session over gets what came after the
     * last message reported delivered */
    { "agent",
"local name = ARGV[9]\n"
"local t = redis.call('GET', P .. 'a:' .. name)\n"
"if t then\n"
"  local h = redis.call('HMGET', pk(t), 'ow', 'st', 'pe', 'sq', 'dl')\n"
"  if h[2] then\n"
"    local from = tonumber(h[5])\n"
"    back(t)\n"
"    attach(t)\n"
"    redis.call('PEXPIRE', P .. 'a:' .. name, TTL)\n"
"    local cid = ''\n"
"    if h[2] == '2' and h[3] ~= '' then\n"
"      cid = redis.call('HGET', pk(h[3]), 'id') or ''\n"
"    end\n"
"    local out = {0, 1, t, cid}\n"
"    backlog(t, from, out)\n"
"    return out\n"
"  end\n"
"end\n"
"t = ARGV[8]\n"
"redis.call('HSET', pk(t), 'r', 2, 'st', 4, 'nm', name, 'nj', ARGV[10],"
" 'pe', '', 'ow', '', 'g', '0', 'sq', 0, 'by', 0, 'dl', 0, 'jn', NOW)\n"
"redis.call('SET', P .. 'a:' .. name, t, 'PX', TTL)\n"
"redis.call('HINCRBY', P .. 's', 'on', 1)\n"
"attach(t)\n"
"redis.call('PUBLISH', QCH, '1')\n"
"return {0, 0, t, '', 0, 1}\n" },

    /* resume: ARGV[8] token, [9] role, [10] agent name, [11] last seq
     * -> {err, state, ticket, call id, gap, first seq, messages...} */
    { "resume",
"local t = ARGV[8]\n"
"local h = redis.call('HMGET', pk(t), 'r', 'nm', 'ow', 'st', 'pe', 'tk',"
" 'id')\n"
"if not h[1] or h[1] ~= ARGV[9] or (h[1] == '2' and h[2] ~= ARGV[10])"
" then return {10} end\n"
"back(t)\n"
"attach(t)\n"
"local sq = tonumber(redis.call('HGET', pk(t), 'sq'))\n"
"redis.call('HSET', pk(t), 'dl', math.min(tonumber(ARGV[11]), sq))\n"
"local cid = ''\n"
"if h[1] == '1' then\n"
"  cid = h[7]\n"
"  redis.call('PEXPIRE', P .. 'c:' .. cid, TTL)\n"
"else\n"
"  redis.call('PEXPIRE', P .. 'a:' .. h[2], TTL)\n"
"  if h[4] == '2' and h[5] ~= '' then\n"
"    cid = redis.call('HGET', pk(h[5]), 'id') or ''\n"
"  end\n"
"end\n"
"local out = {0, tonumber(h[4]), tonumber(h[6] or '0'), cid}\n"
"backlog(t, tonumber(ARGV[11]), out)\n"
"return out\n" },

    /* accept: ARGV[8] agent token, [9] call id or "", [10] and [11]
     * what the customer's and the agent's "accepted" carry after the
     * peer (recording), [12] 1: recorded -> {err, call id} */
    { "accept",
"local at = ARGV[8]\n"
"local a = current(at)\n"
"if not a or a[4] ~= '4' then return {5} end\n"
"local ct\n"
"if ARGV[9] ~= '' then\n"
"  ct = redis.call('GET', P .. 'c:' .. ARGV[9])\n"
"  if not ct then return {6} end\n"
"  local st = redis.call('HGET', pk(ct), 'st')\n"
"  if not st or st == '3' then return {6} end\n"
"  if st ~= '1' then return {7} end\n"
"else\n"
"  local first = redis.call('ZRANGE', P .. 'q', 0, 0)\n"
"  if #first == 0 then return {6} end\n"
"  ct = first[1]\n"
"end\n"
"redis.call('ZREM', P .. 'q', ct)\n"
"redis.call('HSET', pk(ct), 'st', 2, 'pe', at, 'ac', NOW, 'rc', ARGV[12])\n"
"redis.call('HSET', pk(at), 'st', 2, 'pe', ct)\n"
"redis.call('HINCRBY', P .. 's', 'ac', 1)\n"
"redis.call('HINCRBY', P .. 's', 'bu', 1)\n"
"local c = redis.call('HMGET', pk(ct), 'id', 'nj')\n"
"local an = redis.call('HGET', pk(at), 'nj')\n"
"local head = '{\"type\":\"accepted\",\"call_id\":\"' .. c[1] .."
" '\",\"peer\":{\"role\":\"'\n"
"append(ct, head .. 'agent\",\"name\":' .. an .. '}' .. ARGV[10], 1)\n"
"append(at, head .. 'customer\",\"name\":' .. c[2] .. '}' .. ARGV[11], 1)\n"
"redis.call('PUBLISH', QCH, '1')\n"
"return {0, c[1]}\n" },

    /* reject: ARGV[8] agent token, [9] call id -> {err, record} */
    { "reject",
"if not current(ARGV[8]) then return {5} end\n"
"local ct = redis.call('GET', P .. 'c:' .. ARGV[9])\n"
"if not ct then return {6} end\n"
"local st = redis.call('HGET', pk(ct), 'st')\n"
"if not st or st == '3' then return {6} end\n"
"if st ~= '1' then return {7} end\n"
"local out = {0}\n"
"finish(ct, 1, 2, out, redis.call('HGET', pk(ARGV[8]), 'nm'))\n"
"return out\n" },

    /* hangup: ARGV[8] token -> {err, record} */
    { "hangup",
"local p = current(ARGV[8])\n"
"if not p then return {5} end\n"
"local role = tonumber(p[3])\n"
"local out = {0}\n"
"if p[4] == '1' then\n"
"  finish(ARGV[8], 2, role, out)\n"
"elseif p[4] == '2' and p[5] ~= '' then\n"
"  if role == 1 then finish(ARGV[8], 0, role, out)\n"
"  else finish(p[5], 0, role, out) end\n"
"else\n"
"  return {5}\n"
"end\n"
"return out\n" },

    /* relay: ARGV[8] token, [9] message -> {err} */
    { "relay",
"local p = current(ARGV[8])\n"
"if not p or p[4] ~= '2' or p[5] == '' then return {5} end\n"
"if append(p[5], ARGV[9], 0) == -1 then return {9} end\n"
"return {0}\n" },

    /* detach: ARGV[8] token, [9] seq delivered -> {0} */
    { "detach",
"if current(ARGV[8]) then detach(ARGV[8], tonumber(ARGV[9])) end\n"
"return {0}\n" },

    /* delivered: ARGV[8] token, [9] seq its worker has delivered
     * -> {0}: makes room for more (see append) */
    { "delivered",
"local p = current(ARGV[8])\n"
"if p then\n"
"  local dl = math.min(tonumber(ARGV[9]), tonumber(p[6]))\n"
"  if dl > tonumber(redis.call('HGET', pk(ARGV[8]), 'dl')) then\n"
"    redis.call('HSET', pk(ARGV[8]), 'dl', dl)\n"
"  end\n"
"end\n"
"return {0}\n" },

    /* sync (after a reconnect, and to keep the keys alive): ARGV[8]
     * token, [9] last seq received -> {err, gap, first seq, messages} */
    { "sync",
"local t = ARGV[8]\n"
"local h = redis.call('HMGET', pk(t), 'ow', 'g', 'st', 'pe', 'r', 'nm',"
" 'id')\n"
"if not h[1] then return {10} end\n"
"if h[1] == '' then\n"
"  back(t)\n"
"  attach(t)\n"
"elseif h[1] ~= CH or h[2] ~= GEN then\n"
"  return {5}\n"
"end\n"
"touch(t)\n"
"if h[5] == '2' then redis.call('PEXPIRE', P .. 'a:' .. h[6], TTL)\n"
"else redis.call('PEXPIRE', P .. 'c:' .. h[7], TTL) end\n"
"local out = {0}\n"
"backlog(t, tonumber(ARGV[9]), out)\n"
"return out\n" },

    /* sweep: ARGV[8] max parties, [9] 1: may reap silent workers,
     * [10] this host's channel prefix, [11] a channel of this host whose
     * process is gone (or "") -> {0, waiting, active, online, busy,
     * number of quiet channels of this host, those channels, records of
     * ended calls...} */
    { "sweep",
"local out = {0, 0, 0, 0, 0, 0}\n"
"if ARGV[9] == '1' then\n"
"  local dead = redis.call('ZRANGEBYSCORE', P .. 'w', '-inf', NOW - 10000)\n"
"  for i = 1, #dead do reap(dead[i]) end\n"
"end\n"
"if ARGV[11] ~= '' and string.sub(ARGV[11], 1, #ARGV[10]) == ARGV[10]"
" then\n"
"  local hb = redis.call('ZSCORE', P .. 'w', ARGV[11])\n"
"  if hb and tonumber(hb) < NOW - 2000 then reap(ARGV[11]) end\n"
"end\n"
"redis.call('ZADD', P .. 'w', NOW, CH)\n"
"local quiet = redis.call('ZRANGEBYSCORE', P .. 'w', '-inf', NOW - 2000)\n"
"for i = 1, #quiet do\n"
"  if string.sub(quiet[i], 1, #ARGV[10]) == ARGV[10] then\n"
"    out[6] = out[6] + 1\n"
"    out[#out + 1] = quiet[i]\n"
"  end\n"
"end\n"
"local due = redis.call('ZRANGEBYSCORE', P .. 'd', '-inf', NOW, 'LIMIT',"
" 0, tonumber(ARGV[8]))\n"
"for i = 1, #due do\n"
"  local t = due[i]\n"
"  local h = redis.call('HMGET', pk(t), 'r', 'st', 'pe', 'ow')\n"
"  if not h[1] or h[4] ~= '' then\n"
"    redis.call('ZREM', P .. 'd', t)\n"
"  elseif h[1] == '1' then\n"
"    if h[2] ~= '3' then finish(t, 3, 1, out) end\n"
"    free(t)\n"
"  else\n"
"    if h[2] == '2' and h[3] ~= '' then finish(h[3], 3, 2, out) end\n"
"    free(t)\n"
"    redis.call('PUBLISH', QCH, '1')\n"
"  end\n"
"end\n"
"local s = redis.call('HMGET', P .. 's', 'ac', 'on', 'bu')\n"
"out[2] = redis.call('ZCARD', P .. 'q')\n"
"out[3] = tonumber(s[1] or '0')\n"
"out[4] = tonumber(s[2] or '0')\n"
"out[5] = tonumber(s[3] or '0')\n"
"return out\n" },

    /* queue: ARGV[8] max -> {0, online, busy, avg, active, (ticket,
     * call id, joined, name)...} oldest first */
    { "queue",
"local ts = redis.call('ZRANGE', P .. 'q', 0, tonumber(ARGV[8]) - 1)\n"
"local s = redis.call('HMGET', P .. 's', 'on', 'bu', 'av', 'ac')\n"
"local out = {0, tonumber(s[1] or '0'), tonumber(s[2] or '0'),"
" tonumber(s[3] or AVG), tonumber(s[4] or '0')}\n"
"for i = 1, #ts do\n"
"  local h = redis.call('HMGET', pk(ts[i]), 'tk', 'id', 'jn', 'nm')\n"
"  if h[1] then\n"
"    out[#out + 1] = h[1]\n"
"    out[#out + 1] = h[2]\n"
"    out[#out + 1] = h[3]\n"
"    out[#out + 1] = h[4]\n"
"  end\n"
"end\n"
"return out\n" },

    /* ban: ARGV[8] agent token, [9] call id of a waiting call or of the
     * agent's own -> {err, record, the customer's address} */
    { "ban",
"if not current(ARGV[8]) then return {5} end\n"
"local ct = redis.call('GET', P .. 'c:' .. ARGV[9])\n"
"if not ct then return {6} end\n"
"local h = redis.call('HMGET', pk(ct), 'st', 'pe', 'ip')\n"
"if not h[1] or h[1] == '3' then return {6} end\n"
"if h[1] ~= '1' and h[2] ~= ARGV[8] then return {7} end\n"
"local out = {0}\n"
"finish(ct, 4, 2, out, redis.call('HGET', pk(ARGV[8]), 'nm'))\n"
"out[#out + 1] = h[3] or ''\n"
"return out\n" },

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
     * [4] outcome or "", [5] most entries to look at -> {0, id of the
     * next page's start or "", (id, call_id, customer, agent, joined,
     * accepted, ended, outcome, by, duration, recorded)...} newest first;
     * the next page starts below the last record, or below the last
     * entry looked at when that many did not fill the page */
    { "history",
"local F = {'call_id', 'customer', 'agent', 'joined', 'accepted',"
" 'ended', 'outcome', 'by', 'duration', 'recorded'}\n"
"local hi, limit, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[5])\n"
"local out = {0, ''}\n"
"local n, last = 0, ''\n"
"while budget > 0 do\n"
"  local b = redis.call('XREVRANGE', KEYS[1], hi, '-', 'COUNT',"
" math.min(budget, 256))\n"
"  if #b == 0 then return out end\n"
"  for i = 1, #b do\n"
"    local id, f, h = b[i][1], b[i][2], {}\n"
"    for j = 1, #f - 1, 2 do h[f[j]] = f[j + 1] end\n"
"    if (ARGV[3] == '' or h.agent == ARGV[3])"
" and (ARGV[4] == '' or h.outcome == ARGV[4]) then\n"
"      if n == limit then out[2] = last; return out end\n"
"      n = n + 1\n"
"      last = id\n"
"      out[#out + 1] = id\n"
"      for k = 1, #F do out[#out + 1] = h[F[k]] or '' end\n"
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
"return out\n" }
};
