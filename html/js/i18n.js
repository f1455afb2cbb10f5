// UI strings in Turkish (the default) and English, and the language switch.
//
// Every piece of page text lives in an element with data-i18n="key" (and,
// for dynamic text, data-i18n-vars holding the JSON of its variables), or
// in an attribute named by data-i18n-attr="attr:key;attr:key".  Switching
// the language re-renders all of them, dynamic text included.  Variables
// (names, chat text, numbers) are inserted into text nodes only: a user's
// name is never parsed as HTML.

const STRINGS = {
    tr: {
        'skip': 'İçeriğe geç',
        'lang.switch': 'English',
        'lang.switch.label': 'Switch the language to English',
        'brand.customer': 'Canlı destek',
        'brand.agent': 'Temsilci konsolu',

        // customer page
        'c.title': 'Destek ekibimizle görüşün',
        'c.intro': 'Tarayıcınızdan sesli görüşme. Temsilci yanıt verdiğinde mikrofon izni istenir; kamera isteğe bağlıdır.',
        'c.name': 'Adınız',
        'c.call': 'Ara',
        'c.point.voice': 'Sesli görüşme; kamera ve ekran paylaşımı isteğe bağlı.',
        'c.point.secure': 'Ses ve görüntü şifreli bağlantıyla iletilir.',
        'c.point.chat': 'Görüşme sırasında yazışabilirsiniz.',
        'c.ready': 'Adınızı yazıp Ara düğmesine basın.',
        'c.name.bad': 'Lütfen adınızı yazın (en çok 64 bayt).',
        'c.waiting.title': 'Bir temsilci bekleniyor',
        'c.position.next': 'Sıradaki sizsiniz',
        'c.position': 'Sıradaki yeriniz: {position}',
        'c.eta': 'Tahmini bekleme: {eta}',
        'c.eta.soon': 'bir dakikadan az',
        'c.eta.min': 'yaklaşık {n} dakika',
        'c.eta.unknown': 'bilinmiyor',
        'c.cancel': 'Vazgeç',
        'c.queued': 'Sıradasınız. Bu sayfayı açık tutun.',
        'c.ended.title': 'Görüşme sona erdi',
        'c.refused.title': 'Arama yapılamadı',
        'c.again': 'Yeniden ara',
        'c.thanks': 'Bizi aradığınız için teşekkür ederiz.',
        'c.busy': 'Tüm hatlar dolu. Lütfen biraz sonra yeniden deneyin.',
        'c.daily': 'Bugünkü görüşme sınırına ulaşıldı. Lütfen yarın yeniden deneyin.',
        'c.failed': 'Görüşme başlatılamadı ({code}).',
        'c.not_completed': 'Görüşme tamamlanamadı.',
        'c.expired': 'Oturumunuzun süresi doldu. Lütfen yeniden arayın.',
        'c.disconnected': 'Bağlantı kesildi ({code}). Lütfen yeniden arayın.',
        'c.cancelling': 'Vazgeçiliyor…',
        'c.over': 'Görüşme bitti.',
        'c.removed': 'Bu görüşmeden çıkarıldınız.',
        'c.refused': 'Şu anda arama yapamazsınız.',

        // agent console
        'a.login.title': 'Temsilci girişi',
        'a.login.intro': 'Kullanıcı adınızı yazın; Telegram\'a tek kullanımlık bir kod gönderilir.',
        'a.username': 'Kullanıcı adı',
        'a.send_code': 'Kod gönder',
        'a.code': 'Telegram\'daki 6 haneli kod',
        'a.verify': 'Giriş yap',
        'a.other_user': 'Başka kullanıcı',
        'a.code_sent': 'Kod gönderildi. Telegram\'ı kontrol edin (5 dakika geçerli).',
        'a.bad_username': 'Kullanıcı adı yalnızca küçük harf, rakam, nokta, alt çizgi ve tire içerebilir.',
        'a.bad_code': 'Kod 6 rakamdan oluşur.',
        'a.invalid_code': 'Kod yanlış ya da süresi dolmuş.',
        'a.locked': 'Çok fazla hatalı deneme. {s} saniye sonra yeniden deneyin.',
        'a.rate_limited': 'Çok fazla istek. {s} saniye sonra yeniden deneyin.',
        'a.login_failed': 'Giriş yapılamadı ({code}).',
        'a.logging_in': 'Giriş yapılıyor…',
        'a.logout': 'Çıkış',
        'a.logged_out': 'Çıkış yapıldı.',
        'a.session_over': 'Oturum sona erdi. Lütfen yeniden giriş yapın.',
        'a.hello': 'Merhaba, {name}',
        'a.online': 'Çevrim içi.',
        'a.agents': '{online} çevrim içi, {busy} görüşmede',
        'a.queue': 'Sıra',
        'a.queue.empty': 'Bekleyen kimse yok.',
        'a.accept_next': 'Sıradakini al',
        'a.accept': 'Kabul et',
        'a.reject': 'Reddet',
        'a.accept.label': '{name} adlı arayanı kabul et',
        'a.reject.label': '{name} adlı arayanı reddet',
        'a.waiting': '{t} bekliyor',
        'a.rejected': '{name} adlı arayanın çağrısı reddedildi.',
        'a.ban': 'Engelle',
        'a.ban.label': '{name} adlı arayanı engelle',
        'a.ban.title': 'Arayan engellensin mi?',
        'a.ban.text': '{name} hemen çıkarılacak ve bir süre yeniden arayamayabilir.',
        'a.ban.cancel': 'Vazgeç',
        'a.ban.confirm': 'Engelle',
        'a.banned': '{name} engellendi.',
        'a.err.taken': 'Bu çağrıyı başka bir temsilci aldı.',
        'a.err.not_found': 'Bu çağrı artık beklemiyor.',
        'a.err.bad_state': 'Şu anda yapılamaz.',
        'a.err.unavailable': 'Hizmet geçici olarak kullanılamıyor.',
        'a.err.other': 'Olmadı: {code}',
        'a.err.ban_gone': 'Bu görüşme artık yok.',
        'a.err.ban_taken': 'Bu görüşme başka bir temsilcide; buradan engellenemez.',
        'a.err.ban_unsupported': 'Sunucu engellemeyi henüz desteklemiyor.',
        'a.idle.title': 'Etkin görüşme yok',
        'a.idle.text': 'Müşteriyle konuşmak için sıradan bir çağrı alın.',
        'a.last_call': 'Son görüşme ({name}): {text}',
        'a.notify.enable': 'Bildirimleri aç',
        'a.notify.on': 'Bildirimler açık',
        'a.notify.title': 'Yeni çağrı',
        'a.notify.body': '{name} destek bekliyor.',
        'a.new_call': 'Yeni çağrı: {name}',
        'a.replaced': 'Konsol başka bir sekmede açıldı.',
        'a.cannot_connect': 'Bağlanılamadı. Lütfen yeniden giriş yapın.',
        'a.history': 'Görüşme geçmişi',
        'a.history.refresh': 'Yenile',
        'a.history.empty': 'Henüz görüşme yok.',
        'a.history.error': 'Geçmiş alınamadı ({code}).',
        'a.h.when': 'Zaman',
        'a.h.customer': 'Müşteri',
        'a.h.agent': 'Temsilci',
        'a.h.duration': 'Süre',
        'a.h.outcome': 'Sonuç',
        'a.h.recorded': 'kayıtlı',
        'outcome.hangup': 'tamamlandı',
        'outcome.rejected': 'reddedildi',
        'outcome.cancelled': 'vazgeçildi',
        'outcome.gone': 'bağlantı koptu',
        'outcome.banned': 'engellendi',
        'a.diag': 'Tanılama',
        'a.diag.rtt': 'Gidiş-dönüş (RTT)',
        'a.diag.loss': 'Paket kaybı',
        'a.diag.jitter': 'Seğirme (jitter)',
        'a.diag.codec': 'Kodek',
        'a.diag.path': 'Yol',
        'a.diag.bitrate': 'Bit hızı (gelen / giden)',
        'path.direct': 'doğrudan ({local} ↔ {remote})',
        'path.relay': 'TURN üzerinden ({local} ↔ {remote})',

        // the call (both pages)
        'call.with': '{name} ile görüşme',
        'call.agent': 'Temsilci',
        'call.customer': 'Müşteri',
        'call.you': 'Siz',
        'call.controls': 'Görüşme denetimleri',
        'call.mute': 'Sesi kapat',
        'call.unmute': 'Sesi aç',
        'call.camera_on': 'Kamerayı aç',
        'call.camera_off': 'Kamerayı kapat',
        'call.share': 'Ekranı paylaş',
        'call.share_stop': 'Paylaşımı durdur',
        'call.fullscreen': 'Tam ekran',
        'call.hangup': 'Kapat',
        'call.speaker': 'Hoparlör',
        'call.speaker.default': 'Varsayılan',
        'call.speaker.unsupported': 'Bu tarayıcı ses çıkışı seçimini desteklemiyor; sistem ayarlarındaki hoparlör kullanılır.',
        'call.recording': 'Bu görüşme kaydediliyor',
        'call.starting': '{name} ile bağlantı kuruldu. Ses başlatılıyor…',
        'call.connected': 'Ses bağlantısı kuruldu.',
        'call.interrupted': 'Ses kesildi, yeniden bağlanılıyor…',
        'call.restart': 'Bağlantı koptu; yeniden kuruluyor…',
        'call.failed': 'Ses bağlantısı kurulamadı.',
        'call.hanging_up': 'Kapatılıyor…',
        'call.peer_muted': '{name} mikrofonunu kapattı',
        'call.peer_camera': '{name} kamerasını açtı',
        'call.peer_screen': '{name} ekranını paylaşıyor',
        'call.peer_lost': '{name} bağlantısını kaybetti, bekleniyor…',
        'call.peer_back': '{name} geri döndü.',
        'call.audio_only': 'Bağlantı zayıf: görüntü kapatıldı, yalnızca ses sürüyor.',
        'call.no_mic': 'Mikrofon kullanılamıyor; dinleyebilir ve yazışabilirsiniz.',
        'perm.denied': 'Mikrofon/kamera izni verilmedi. Adres çubuğundaki kilit simgesinden izin verip yeniden deneyin; bu arada dinleyebilir ve yazışabilirsiniz.',
        'perm.camera_denied': 'Kamera izni verilmedi. Adres çubuğundaki kilit simgesinden izin verebilirsiniz.',
        'perm.screen_denied': 'Ekran paylaşımı başlatılmadı.',
        'perm.missing': 'Bu cihazda mikrofon ya da kamera bulunamadı.',
        'perm.busy': 'Mikrofon ya da kamera başka bir uygulama tarafından kullanılıyor.',
        'q.label': 'Bağlantı kalitesi',
        'q.good': 'İyi',
        'q.fair': 'Orta',
        'q.poor': 'Zayıf',
        'q.none': 'Ölçülüyor',
        'q.detail': 'RTT {rtt} ms · kayıp %{loss} · seğirme {jitter} ms',
        'conn.connecting': 'Bağlanılıyor…',
        'conn.reconnecting': 'Bağlantı koptu, yeniden bağlanılıyor…',
        'conn.resumed': 'Yeniden bağlanıldı.',
        'conn.resumed_gap': 'Yeniden bağlanıldı (bazı mesajlar kaybolmuş olabilir).',
        'ended.hangup.self': 'Görüşmeyi siz kapattınız',
        'ended.hangup.customer': 'Müşteri görüşmeyi kapattı',
        'ended.hangup.agent': 'Temsilci görüşmeyi kapattı',
        'ended.hangup': 'Görüşme sona erdi',
        'ended.rejected': 'Şu anda hiçbir temsilci çağrıyı alamadı',
        'ended.cancelled': 'Çağrıdan vazgeçildi',
        'ended.gone': 'Bağlantı koptu',
        'ended.shutdown': 'Hizmet yeniden başlatılıyor',
        'ended.banned': 'Müşteri engellendi',
        'ended.other': 'Görüşme sona erdi ({reason})',
        'ended.duration': '{text}; süre {d}.',
        'ended.plain': '{text}.',
        'chat': 'Yazışma',
        'chat.message': 'Mesaj',
        'chat.placeholder': 'Mesajınızı yazın',
        'chat.send': 'Gönder',
        'chat.who': '{who} · {time}',
        'chat.too_long': 'Mesaj çok uzun (en çok {n} bayt).',
        'chat.failed': 'İletilemedi: {code}',
        'error': 'Hata: {code}',
    },
    en: {
        'skip': 'Skip to content',
        'lang.switch': 'Türkçe',
        'lang.switch.label': 'Dili Türkçe yap',
        'brand.customer': 'Live support',
        'brand.agent': 'Agent console',

        'c.title': 'Talk to our support team',
        'c.intro': 'A voice call in your browser. You will be asked for your microphone once an agent answers; the camera is optional.',
        'c.name': 'Your name',
        'c.call': 'Call',
        'c.point.voice': 'A voice call; camera and screen sharing are optional.',
        'c.point.secure': 'Voice and video travel over an encrypted connection.',
        'c.point.chat': 'You can chat during the call.',
        'c.ready': 'Enter your name and press Call.',
        'c.name.bad': 'Please enter your name (at most 64 bytes).',
        'c.waiting.title': 'Waiting for an agent',
        'c.position.next': 'You are next',
        'c.position': 'Your place in the queue: {position}',
        'c.eta': 'Estimated wait: {eta}',
        'c.eta.soon': 'less than a minute',
        'c.eta.min': 'about {n} minutes',
        'c.eta.unknown': 'unknown',
        'c.cancel': 'Cancel',
        'c.queued': 'You are in the queue. Keep this page open.',
        'c.ended.title': 'Call ended',
        'c.refused.title': 'Call not possible',
        'c.again': 'Call again',
        'c.thanks': 'Thank you for calling us.',
        'c.busy': 'All lines are busy. Please try again later.',
        'c.daily': 'Today\'s call limit has been reached. Please try again tomorrow.',
        'c.failed': 'The call could not be placed ({code}).',
        'c.not_completed': 'The call was not completed.',
        'c.expired': 'Your session expired. Please call again.',
        'c.disconnected': 'Disconnected ({code}). Please call again.',
        'c.cancelling': 'Cancelling…',
        'c.over': 'The call is over.',
        'c.removed': 'You have been removed from this call.',
        'c.refused': 'You cannot call right now.',

        'a.login.title': 'Agent sign-in',
        'a.login.intro': 'Enter your username; a one-time code is sent to your Telegram.',
        'a.username': 'Username',
        'a.send_code': 'Send code',
        'a.code': 'The 6-digit code from Telegram',
        'a.verify': 'Sign in',
        'a.other_user': 'Another user',
        'a.code_sent': 'Code sent. Check Telegram (valid for 5 minutes).',
        'a.bad_username': 'A username has only lower-case letters, digits, dots, underscores and dashes.',
        'a.bad_code': 'The code is 6 digits.',
        'a.invalid_code': 'The code is wrong or has expired.',
        'a.locked': 'Too many wrong codes. Try again in {s} seconds.',
        'a.rate_limited': 'Too many requests. Try again in {s} seconds.',
        'a.login_failed': 'Sign-in failed ({code}).',
        'a.logging_in': 'Signing in…',
        'a.logout': 'Sign out',
        'a.logged_out': 'Signed out.',
        'a.session_over': 'Your session ended. Please sign in again.',
        'a.hello': 'Hello, {name}',
        'a.online': 'Online.',
        'a.agents': '{online} online, {busy} in a call',
        'a.queue': 'Queue',
        'a.queue.empty': 'No one is waiting.',
        'a.accept_next': 'Accept next',
        'a.accept': 'Accept',
        'a.reject': 'Reject',
        'a.accept.label': 'Accept the call of {name}',
        'a.reject.label': 'Reject the call of {name}',
        'a.waiting': 'waiting {t}',
        'a.rejected': 'Rejected the call of {name}.',
        'a.ban': 'Ban',
        'a.ban.label': 'Ban {name}',
        'a.ban.title': 'Ban this caller?',
        'a.ban.text': '{name} will be removed at once and may not be able to call again for a while.',
        'a.ban.cancel': 'Cancel',
        'a.ban.confirm': 'Ban',
        'a.banned': '{name} was banned.',
        'a.err.taken': 'Another agent took that call.',
        'a.err.not_found': 'That call is no longer waiting.',
        'a.err.bad_state': 'Not possible now.',
        'a.err.unavailable': 'The service is temporarily unavailable.',
        'a.err.other': 'Failed: {code}',
        'a.err.ban_gone': 'That call has already ended.',
        'a.err.ban_taken': 'That call is with another agent; it cannot be banned from here.',
        'a.err.ban_unsupported': 'The server does not support banning yet.',
        'a.idle.title': 'No active call',
        'a.idle.text': 'Accept a call from the queue to talk to the customer.',
        'a.last_call': 'Last call ({name}): {text}',
        'a.notify.enable': 'Turn on notifications',
        'a.notify.on': 'Notifications on',
        'a.notify.title': 'New call',
        'a.notify.body': '{name} is waiting for support.',
        'a.new_call': 'New call: {name}',
        'a.replaced': 'The console was opened in another tab.',
        'a.cannot_connect': 'Cannot connect. Please sign in again.',
        'a.history': 'Call history',
        'a.history.refresh': 'Refresh',
        'a.history.empty': 'No calls yet.',
        'a.history.error': 'Could not load the history ({code}).',
        'a.h.when': 'When',
        'a.h.customer': 'Customer',
        'a.h.agent': 'Agent',
        'a.h.duration': 'Duration',
        'a.h.outcome': 'Outcome',
        'a.h.recorded': 'recorded',
        'outcome.hangup': 'completed',
        'outcome.rejected': 'rejected',
        'outcome.cancelled': 'cancelled',
        'outcome.gone': 'connection lost',
        'outcome.banned': 'banned',
        'a.diag': 'Diagnostics',
        'a.diag.rtt': 'Round trip (RTT)',
        'a.diag.loss': 'Packet loss',
        'a.diag.jitter': 'Jitter',
        'a.diag.codec': 'Codec',
        'a.diag.path': 'Path',
        'a.diag.bitrate': 'Bit rate (in / out)',
        'path.direct': 'direct ({local} ↔ {remote})',
        'path.relay': 'relayed via TURN ({local} ↔ {remote})',

        'call.with': 'In a call with {name}',
        'call.agent': 'Agent',
        'call.customer': 'Customer',
        'call.you': 'You',
        'call.controls': 'Call controls',
        'call.mute': 'Mute',
        'call.unmute': 'Unmute',
        'call.camera_on': 'Camera on',
        'call.camera_off': 'Camera off',
        'call.share': 'Share screen',
        'call.share_stop': 'Stop sharing',
        'call.fullscreen': 'Full screen',
        'call.hangup': 'Hang up',
        'call.speaker': 'Speaker',
        'call.speaker.default': 'Default',
        'call.speaker.unsupported': 'This browser cannot choose the audio output; the system\'s speaker is used.',
        'call.recording': 'This call is being recorded',
        'call.starting': 'Connected to {name}. Starting audio…',
        'call.connected': 'Audio connected.',
        'call.interrupted': 'Audio interrupted, reconnecting…',
        'call.restart': 'The connection failed; restoring it…',
        'call.failed': 'The audio connection could not be made.',
        'call.hanging_up': 'Hanging up…',
        'call.peer_muted': '{name} muted the microphone',
        'call.peer_camera': '{name} turned the camera on',
        'call.peer_screen': '{name} is sharing the screen',
        'call.peer_lost': '{name} lost the connection, waiting for them…',
        'call.peer_back': '{name} is back.',
        'call.audio_only': 'Weak connection: video is off, the call continues with audio only.',
        'call.no_mic': 'The microphone is not available; you can listen and chat.',
        'perm.denied': 'Microphone/camera permission was not given. Allow it with the lock icon in the address bar and try again; meanwhile you can listen and chat.',
        'perm.camera_denied': 'Camera permission was not given. You can allow it with the lock icon in the address bar.',
        'perm.screen_denied': 'Screen sharing was not started.',
        'perm.missing': 'No microphone or camera was found on this device.',
        'perm.busy': 'The microphone or camera is in use by another application.',
        'q.label': 'Connection quality',
        'q.good': 'Good',
        'q.fair': 'Fair',
        'q.poor': 'Poor',
        'q.none': 'Measuring',
        'q.detail': 'RTT {rtt} ms · loss {loss}% · jitter {jitter} ms',
        'conn.connecting': 'Connecting…',
        'conn.reconnecting': 'Connection lost, reconnecting…',
        'conn.resumed': 'Reconnected.',
        'conn.resumed_gap': 'Reconnected (some messages may have been lost).',
        'ended.hangup.self': 'You hung up',
        'ended.hangup.customer': 'The customer hung up',
        'ended.hangup.agent': 'The agent hung up',
        'ended.hangup': 'The call was ended',
        'ended.rejected': 'No agent could take the call now',
        'ended.cancelled': 'The call was cancelled',
        'ended.gone': 'The connection was lost',
        'ended.shutdown': 'The service is restarting',
        'ended.banned': 'The customer was banned',
        'ended.other': 'The call ended ({reason})',
        'ended.duration': '{text} after {d}.',
        'ended.plain': '{text}.',
        'chat': 'Chat',
        'chat.message': 'Message',
        'chat.placeholder': 'Type a message',
        'chat.send': 'Send',
        'chat.who': '{who} · {time}',
        'chat.too_long': 'Message too long (at most {n} bytes).',
        'chat.failed': 'Not delivered: {code}',
        'error': 'Error: {code}',
    },
};

const KEY = 'hotline.lang';
const listeners = [];
let lang = pick();

function pick() {
    const q = new URLSearchParams(location.search).get('lang');
    if (q && STRINGS[q]) {
        return q;
    }
    try {
        const saved = localStorage.getItem(KEY);
        if (saved && STRINGS[saved]) {
            return saved;
        }
    } catch (err) {
        // storage disabled: the default
    }
    return 'tr';
}

export function currentLang() {
    return lang;
}

// The locale for numbers and dates in the current language.
export function locale() {
    return lang === 'tr' ? 'tr-TR' : 'en-GB';
}

export function number(v, digits) {
    return Number(v).toLocaleString(locale(), {
        minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// The text for a key with {variables} filled in (as plain text).
export function t(key, vars = {}) {
    const table = STRINGS[lang];
    let s = table[key] ?? STRINGS.tr[key] ?? key;
    s = s.replace(/\{(\w+)\}/g, (m, name) => {
        const v = vars[name];
        if (v === undefined || v === null) {
            return '';
        }
        // a variable may itself be a translatable key: {"$k": key, ...}
        if (typeof v === 'object' && v.$k) {
            return t(v.$k, v);
        }
        return String(v);
    });
    return s;
}

// Sets an element's text from a key; it follows language switches.
export function setText(el, key, vars) {
    el.dataset.i18n = key;
    if (vars && Object.keys(vars).length) {
        el.dataset.i18nVars = JSON.stringify(vars);
    } else {
        delete el.dataset.i18nVars;
    }
    el.textContent = t(key, vars);
}

// Sets an attribute (aria-label, placeholder, title) from a key.
export function setAttr(el, attr, key, vars) {
    const map = parseAttrs(el.dataset.i18nAttr);
    map[attr] = vars ? key + '|' + JSON.stringify(vars) : key;
    el.dataset.i18nAttr = Object.entries(map)
        .map(([a, k]) => a + ':' + k).join(';');
    el.setAttribute(attr, t(key, vars));
}

function parseAttrs(spec) {
    const map = {};
    for (const part of (spec || '').split(';')) {
        const i = part.indexOf(':');
        if (i > 0) {
            map[part.slice(0, i)] = part.slice(i + 1);
        }
    }
    return map;
}

function renderAll(root = document) {
    for (const el of root.querySelectorAll('[data-i18n]')) {
        let vars = {};
        if (el.dataset.i18nVars) {
            try {
                vars = JSON.parse(el.dataset.i18nVars);
            } catch (err) {
                vars = {};
            }
        }
        el.textContent = t(el.dataset.i18n, vars);
    }
    for (const el of root.querySelectorAll('[data-i18n-attr]')) {
        for (const [attr, spec] of Object.entries(
            parseAttrs(el.dataset.i18nAttr))) {
            const bar = spec.indexOf('|');
            let key = spec;
            let vars = {};
            if (bar > 0) {
                key = spec.slice(0, bar);
                try {
                    vars = JSON.parse(spec.slice(bar + 1));
                } catch (err) {
                    vars = {};
                }
            }
            el.setAttribute(attr, t(key, vars));
        }
    }
    document.documentElement.lang = lang;
    const btn = document.getElementById('lang-btn');
    if (btn) {
        btn.lang = lang === 'tr' ? 'en' : 'tr';
    }
}

export function setLang(next) {
    if (!STRINGS[next] || next === lang) {
        return;
    }
    lang = next;
    try {
        localStorage.setItem(KEY, lang);
    } catch (err) {
        // not remembered: fine
    }
    renderAll();
    for (const fn of listeners) {
        fn(lang);
    }
}

export function onLang(fn) {
    listeners.push(fn);
}

// Renders the page in the current language and wires the switch button
// (the element with id lang-btn toggles between the two languages).
export function initI18n() {
    renderAll();
    const btn = document.getElementById('lang-btn');
    if (btn) {
        btn.addEventListener('click',
                             () => setLang(lang === 'tr' ? 'en' : 'tr'));
    }
}
