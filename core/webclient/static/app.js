// The authenticator: shows the security string (or, with "Allow user to
// enter PIN", the one-time code) for the next unused index, following the
// Mobile Client policy the server sent. It works from IndexedDB, so it
// keeps working offline; online it checks the phone is still the user's
// device, keeps the index in step (Sync Index) and downloads new strings
// when few are left. The PIN lives in one variable and is never stored or
// sent. With client logging on in the user's profile it keeps a short
// diagnostic log of its own events (never a PIN, code, string or the
// device Id), which a person can send from the Help section. Not set up,
// it offers a new provision code and "Set up with a code", the new code
// first when the page knows the phone's strings are gone.
'use strict';
(function () {
  var LOW = 10;           // download a new set at or below this many left
  var TIMEOUT_MS = 4000;  // a server that does not answer counts as offline
  var state = null;       // the stored record
  var shown = -1;         // index on screen
  var first = -1;         // first index shown since the page opened
  var pin = '';           // in memory only
  var mode = 'pin';
  var persisted = null;   // navigator.storage.persist()'s answer, once known
  var untrusted = false;  // the browser refused the service worker for the certificate
  var lost = false;       // this page saw the stored phone go (deleted under it, or forgotten)
  var reach = null;       // the server answered the last request (true), did not (false), or unknown
  var checking = false;   // a reachability check is on its way
  var DIAG_LINES = 200;        // lines kept on the phone
  var DIAG_MAX = 32 * 1024;    // bytes one upload may hold (the server's bound)

  function $(id) { return document.getElementById(id); }
  function show(id, on) { $(id).hidden = !on; }
  function pad2(n) { return (n < 10 ? '0' : '') + n; }
  function say(text) { $('status').textContent = text || ''; }
  function pol() { return (state && state.policies) || {}; }

  function post(path, body) {
    var ctl = new AbortController();
    var t = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    return fetch('/userportal/app/api/' + path, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body), signal: ctl.signal, credentials: 'omit',
      cache: 'no-store', referrerPolicy: 'no-referrer'
    }).then(function (r) { clearTimeout(t); reach = true; return r.json(); },
      function (e) { clearTimeout(t); reach = false; throw e; });
  }

  // checkReach asks whether the self-service page can be reached, which
  // the empty authenticator's "Get a new provision code" leads to and no
  // phone keeps offline: a HEAD of that page (the service worker passes
  // everything but GET to the network, so no cached copy answers), with
  // the API's timeout. Any answer means the server is there.
  function checkReach() {
    if (navigator.onLine === false) { reach = false; renderEmpty(); return; }
    if (checking) return;
    checking = true;
    var ctl = new AbortController();
    var t = setTimeout(function () { ctl.abort(); }, TIMEOUT_MS);
    fetch('/userportal/', { method: 'HEAD', cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer', signal: ctl.signal })
      .then(function () { return true; }, function () { return false; })
      .then(function (ok) { clearTimeout(t); checking = false; reach = ok; renderEmpty(); });
  }

  // renderEmpty picks the empty authenticator's one next step. A phone
  // the page knows needs a new code (its strings went while the page was
  // open, it was forgotten here, or replaced or removed) leads with "Get
  // a new provision code" as the primary button, the form second for a
  // code the helpdesk or a mail already gave. A page that cannot know
  // (nothing stored when it opened: never set up, or deleted before)
  // keeps the form first. The link leads only once the server has
  // answered: away from the office network it would open the browser's
  // error page, so the page says what is needed instead.
  function renderEmpty() {
    var needNew = lost || !!(state && state.replaced);
    $('new-code').className = needNew && reach === true ? 'button primary big' : 'tap';
    $('setup-submit').classList.toggle('primary', !needNew);
    $('setup-submit').classList.toggle('big', !needNew);
    show('empty-offline', reach === false);
  }

  // extract picks, for each PIN digit d, the character at position d of the
  // string (1-based, 0 meaning 10).
  function extract(s, p) {
    var out = '';
    for (var i = 0; i < p.length; i++) {
      var d = p.charCodeAt(i) - 48;
      out += s.charAt((d === 0 ? 10 : d) - 1);
    }
    return out;
  }

  // note adds a line to the diagnostic log while the profile has client
  // logging on; with it off the phone keeps none. Callers pass fixed
  // sentences and counts only: no PIN, code, string or device Id.
  function note(text) {
    if (!state) return;
    if (!pol().logging) { delete state.diag; return; }
    var d = state.diag || [];
    d.push(new Date().toISOString().replace(/\.\d+Z$/, 'Z') + ' ' + String(text).slice(0, 300));
    if (d.length > DIAG_LINES) d = d.slice(d.length - DIAG_LINES);
    state.diag = d;
  }

  // diagText is the newest part of the log that fits one upload.
  function diagText() {
    var lines = (state && state.diag) || [];
    var enc = new TextEncoder(), text = lines.join('\n');
    while (lines.length > 1 && enc.encode(text).length > DIAG_MAX) {
      lines = lines.slice(1); text = lines.join('\n');
    }
    return text;
  }

  function save() { return ProvisioStore.save(state).catch(function () { say('This browser could not save; the next code may repeat.'); }); }

  // markShown puts index i on screen and records it as used: each index is
  // shown once.
  function markShown(i) {
    shown = i;
    if (first < 0) first = i;
    if (state.next <= i) { state.next = i + 1; save(); }
    render();
  }

  function replaced(msg) {
    state.replaced = true;
    save();
    render();
  }

  // showFingerprint writes fp with a line-break opportunity after each
  // colon, so a narrow screen wraps it between bytes, never inside one
  // ("F2:6" / "7:5E" reads as another fingerprint); <wbr> adds no
  // character to what is copied.
  function showFingerprint(el, fp) {
    el.textContent = '';
    fp.split(':').forEach(function (pair, i, all) {
      if (i > 0) { el.append(document.createElement('wbr')); }
      el.append(i < all.length - 1 ? pair + ':' : pair);
    });
  }

  // renderInstall shows the Home Screen advice while the browser refuses
  // to keep this site's storage (persisted false; Chrome keeps an
  // installed app's), and in every Safari tab on an iPhone or iPad: there
  // persist() may well answer true, which only spares the storage from
  // eviction when the disk fills, while Safari still deletes a tab's
  // storage after seven days of use without a visit (a Home Screen copy
  // is exempt). Outside an installed app, until the person hides it.
  function renderInstall() {
    var atRisk = persisted === false || (typeof ProvisioIOS !== 'undefined' && ProvisioIOS.tab);
    show('install', !!state && !state.replaced && !standalone && atRisk && !state.installHidden && !untrusted);
    show('untrusted', !!state && !state.replaced && untrusted);
  }

  function askPersist() {
    ProvisioStore.persist().then(function (ok) { persisted = !!ok; renderInstall(); });
  }

  function render() {
    document.getElementById('app').setAttribute('aria-busy', 'false');
    renderInstall();
    if (!state) {
      // Also when the record vanished under a page that showed it (Safari's
      // deletion, or the site's data cleared, while the page was kept in
      // memory): what the banner said of the stored phone no longer holds.
      show('banner', false);
      show('empty', true); show('empty-intro', true); show('auth', false); show('device', false); show('support', false); show('install', false);
      $('who').textContent = '';
      renderEmpty(); checkReach();
      return;
    }
    show('empty', false); show('device', true);
    $('who').textContent = state.username + (state.server ? ' on ' + state.server : '');
    if (state.fingerprint) { showFingerprint($('fp'), state.fingerprint); show('fp-line', true); }
    renderSupport();
    if (state.replaced) {
      // The server cannot tell (and need not): the Id is simply no longer
      // the user's, after a set-up elsewhere or the administrator's Revoke
      // device or deletion.
      $('banner').textContent = 'This phone was replaced or removed: your account was set up on another device, or your administrator removed this phone, so these codes no longer work. To use this phone again, get a new provision code and set it up below.';
      show('banner', true); show('auth', false); show('refresh', false);
      // The way back is on this screen: a removed phone used to be told
      // to ask for a new code with no link to ask and no form to enter
      // it until "Forget this phone" was found and confirmed.
      show('empty', true); show('empty-intro', false);
      if (!$('setup-username').value) $('setup-username').value = state.username || '';
      renderEmpty(); checkReach();
      return;
    }
    show('banner', false); show('refresh', true);
    var p = pol();
    var have = state.strings && state.strings.length === 100;
    if (!have || shown < 0 || shown > 99) {
      show('auth', false);
      say(have ? 'No security strings left. Connect to the office network to download new ones.' : 'No security strings yet. Connect to the office network to download them.');
      return;
    }
    show('auth', true);
    var s = state.strings[shown];
    // Profile options (#14): a mandatory PIN keeps the PIN pad (no plain
    // string on screen) and read-only settings take away the choice.
    var mandatory = p.allow_pin_entry && p.pin_mode === 'mandatory';
    var choose = p.allow_pin_entry && p.allow_choose_extraction && !p.read_only_settings && !mandatory;
    show('modes', !!choose);
    if (!p.allow_pin_entry) mode = 'string';
    else if (!choose) mode = 'pin';
    $('mode-pin').setAttribute('aria-pressed', String(mode === 'pin'));
    $('mode-string').setAttribute('aria-pressed', String(mode === 'string'));
    show('string-view', mode === 'string');
    show('pin-view', mode === 'pin');
    $('index').textContent = pad2(shown);
    $('index-again').textContent = pad2(shown);
    $('pin-index').textContent = pad2(shown);
    var pos = $('positions'), ch = $('chars');
    pos.textContent = ''; ch.textContent = '';
    for (var i = 0; i < 10; i++) {
      var th = document.createElement('th'); th.scope = 'col'; th.textContent = String((i + 1) % 10 === 0 ? 10 : i + 1);
      var td = document.createElement('td'); td.textContent = s.charAt(i);
      pos.appendChild(th); ch.appendChild(td);
    }
    $('pin-dots').textContent = pin.replace(/./g, '●');
    show('prev', !!p.allow_browse_strings && shown > first);
    show('next', !!p.allow_browse_strings && shown < 99);
    var left = 100 - state.next;
    $('left').textContent = left + (left === 1 ? ' string' : ' strings') + ' left on this phone.';
    var vpn = p.vpn_url_scheme || '';
    // Only an app link: never javascript: or data: from a policy field.
    if (/^[a-z][a-z0-9+.-]*:/i.test(vpn) && !/^(javascript|data|vbscript|file):/i.test(vpn)) {
      $('vpn').href = vpn; show('vpn', true);
    } else { show('vpn', false); }
  }

  function renderSupport() {
    var p = pol(), any = false;
    if (p.support_phone) {
      var a = $('support-phone').querySelector('a');
      a.href = 'tel:' + p.support_phone.replace(/[^0-9+]/g, ''); a.textContent = p.support_phone;
      show('support-phone', true); any = true;
    } else show('support-phone', false);
    if (p.support_email) {
      var b = $('support-email').querySelector('a');
      b.href = 'mailto:' + p.support_email; b.textContent = p.support_email;
      show('support-email', true); any = true;
    } else show('support-email', false);
    var diag = !!p.logging && !state.replaced;
    show('diag', diag);
    show('support', any || diag);
  }

  function download() {
    say('Downloading new security strings…');
    return post('strings', { id: state.deviceId }).then(function (r) {
      if (r.state === 'replaced') { note('download: this phone is no longer the account\'s device'); return replaced(); }
      if (r.state !== 'ok') { note('download refused: ' + r.message); say(r.message); return; }
      state.strings = r.strings; state.next = 0; state.policies = r.policies || state.policies;
      shown = -1; first = -1;
      note('download: new security strings stored');
      return save().then(function () { say('New security strings downloaded.'); markShown(0); });
    }, function () { note('download: no answer from the server (offline)'); save(); say('Offline: using the strings stored on this phone.'); });
  }

  // sync asks the server whether this is still the user's device and, with
  // Sync Index, which index comes next.
  function sync() {
    return post('status', { id: state.deviceId }).then(function (r) {
      if (r.state === 'replaced') { note('status: this phone is no longer the account\'s device'); replaced(); return false; }
      if (r.state !== 'ok') { note('status refused: ' + r.message); say(r.message); return true; }
      if (r.policies) state.policies = r.policies;
      if (r.fingerprint) state.fingerprint = r.fingerprint;
      if (typeof r.next === 'number' && r.next > state.next) state.next = Math.min(r.next, 100);
      // The server answered: an earlier "Offline" no longer holds.
      if ($('status').textContent.indexOf('Offline') === 0) say('');
      note('status: ok, ' + (100 - state.next) + ' strings left');
      return save().then(function () { return true; });
    }, function () { note('status: no answer from the server (offline)'); save(); say('Offline: using the strings stored on this phone.'); return true; });
  }

  function start() {
    ProvisioStore.load().then(function (s) {
      state = s || null;
      if (!state) { render(); return; }
      lost = false;
      note('app opened: ' + navigator.userAgent);
      askPersist();
      if (state.replaced) { render(); return; }
      return sync().then(function (ok) {
        if (!ok) return;
        var have = state.strings && state.strings.length === 100;
        if (!have || 100 - state.next <= LOW) {
          if (have && state.next < 100) markShown(state.next);
          return download();
        }
        markShown(state.next);
      });
    }).catch(function () {
      say('This browser does not let the page read its storage (private browsing may block it).');
      render();
    });
  }

  // PIN pad.
  Array.prototype.forEach.call(document.querySelectorAll('[data-digit]'), function (b) {
    b.addEventListener('click', function () {
      if (pin.length < 10) pin += b.getAttribute('data-digit');
      show('otc-box', false);
      render();
    });
  });
  $('pin-clear').addEventListener('click', function () { pin = ''; show('otc-box', false); render(); });
  $('pin-ok').addEventListener('click', function () {
    if (pin.length < 4) { say('A PIN has 4 to 10 digits.'); return; }
    $('otc').textContent = extract(state.strings[shown], pin) + pad2(shown);
    pin = '';
    show('otc-box', true);
    say('');
    render();
    // Below the pad, the code is off the bottom of a small phone's
    // screen (an iPhone SE's Safari tab): bring it up.
    $('otc-box').scrollIntoView({ block: 'nearest' });
  });
  $('mode-pin').addEventListener('click', function () { mode = 'pin'; render(); });
  $('mode-string').addEventListener('click', function () { mode = 'string'; pin = ''; show('otc-box', false); render(); });
  $('prev').addEventListener('click', function () { if (shown > first) { shown--; pin = ''; show('otc-box', false); render(); } });
  $('next').addEventListener('click', function () {
    if (shown < 99) { pin = ''; show('otc-box', false); markShown(shown + 1); }
    if (100 - state.next <= LOW) download();
  });
  $('refresh').addEventListener('click', function () { download(); });
  // Send diagnostic log: only a person's tap sends it, never a script.
  $('send-log').addEventListener('click', function (e) {
    if (!e.isTrusted || !state) return;
    var btn = $('send-log'), out = $('diag-status');
    note('diagnostic log sent from ' + navigator.userAgent);
    var text = diagText();
    btn.disabled = true; out.textContent = 'Sending…';
    post('log', { id: state.deviceId, log: text }).then(function (r) {
      if (r.state === 'ok') {
        out.textContent = 'Sent';
      } else {
        note('diagnostic log refused: ' + r.message);
        out.textContent = 'Not sent: ' + (r.message || 'the server refused it.');
      }
    }, function () {
      note('diagnostic log not sent: no answer from the server');
      out.textContent = 'Not sent: the server did not answer. Connect to the office network and try again.';
    }).then(function () { btn.disabled = false; save(); });
  });
  $('forget').addEventListener('click', function () { show('forget-confirm', true); $('forget-yes').focus(); });
  $('forget-no').addEventListener('click', function () { show('forget-confirm', false); });
  $('forget-yes').addEventListener('click', function () {
    ProvisioStore.forget().then(function () {
      state = null; shown = -1; pin = ''; lost = true;
      show('forget-confirm', false); show('banner', false);
      say('This phone is forgotten: its strings are deleted from this browser.');
      render();
    });
  });

  // Set up with a code: the empty state's form sets the phone up in
  // whatever context the page runs in (an iPhone's Home Screen copy keeps
  // its own storage, so it cannot use a set-up made in Safari). The same
  // POST as the Provision URL page's button, asking for JSON so a refusal
  // keeps what was typed; the same ProvisioStore.setUp keeps the answer.
  // Only a person's tap (or Enter) sends it; the code is never in a URL.
  function setupProblem(text) { $('setup-problem').textContent = text || ''; show('setup-problem', !!text); }
  $('setup-form').addEventListener('submit', function (e) {
    e.preventDefault();
    if (!e.isTrusted || $('setup-submit').disabled) return;
    var username = $('setup-username').value.trim(), code = $('setup-code').value.trim();
    if (!username || !code) { setupProblem('Enter your username and the provision code.'); return; }
    // The button itself says so, as on the Provision URL page: the
    // status line is at the top of the page, off screen once a person
    // has scrolled down to the button (with the keyboard up, always),
    // and a disabled button looks like any other.
    var btn = $('setup-submit'), label = btn.textContent;
    btn.disabled = true;
    btn.textContent = 'Provisioning. Please wait...';
    setupProblem('');
    say('Provisioning. Please wait...');
    // A browser that cannot keep the answer does not send the code: the
    // answer spends it and stops the old phone (ProvisioStore.probe).
    ProvisioStore.probe().then(function () {
      return fetch('/userportal/setup', {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Accept': 'application/json' },
        body: new URLSearchParams({ username: username, code: code }).toString(),
        credentials: 'omit', cache: 'no-store', referrerPolicy: 'no-referrer'
      }).then(function (r) { reach = true; renderEmpty(); return r.json(); }).then(function (r) {
        if (r.state !== 'ok' || !r.setup) { say(''); setupProblem(r.message || 'This phone was not set up; try again.'); return; }
        return ProvisioStore.setUp(r.setup).then(function () {
          $('setup-form').reset();
          say('');
          start();
        }, function () {
          say('');
          setupProblem(ProvisioStore.notKept);
        });
      }, function () {
        say('');
        reach = false; renderEmpty();
        setupProblem('The server did not answer. Connect to the office network and try again.');
      });
    }, function () {
      say('');
      setupProblem(ProvisioStore.cannotKeep);
    }).then(function () { btn.disabled = false; btn.textContent = label; });
  });

  // Leaving the page forgets the PIN and the code on screen. Coming back
  // is how people open an app a phone keeps in memory, so it is opening
  // again: the record is read afresh (another tab, or the installed app
  // sharing this storage, may have shown codes or downloaded a new set
  // meanwhile, and writing back what this tab remembered would repeat a
  // used index or bring back dead strings), the next unused index shows at
  // once, and the server is asked, as on a page load, whether this is
  // still the user's phone.
  document.addEventListener('visibilitychange', function () {
    if (document.hidden) { pin = ''; show('otc-box', false); return; }
    resume();
  });

  function resume() {
    ProvisioStore.load().then(function (s) {
      // Still not set up: keep what the person may have typed, and
      // find out whether the phone can reach the server now.
      if (!s && !state) { checkReach(); return; }
      // The strings were deleted while the page was away: a status
      // such as "Offline: using the strings stored on this phone" would
      // now contradict the page that says there are none.
      if (!s) { say(''); lost = true; }
      if (s) lost = false;
      state = s || null; shown = -1; first = -1; pin = '';
      show('otc-box', false);
      if (!state || state.replaced) { render(); return; }
      note('app shown again');
      var have = state.strings && state.strings.length === 100;
      if (have && state.next < 100) markShown(state.next); else render();
      return sync().then(function (ok) {
        if (!ok) return;
        have = state.strings && state.strings.length === 100;
        // Sync Index moved past the index on screen.
        if (have && state.next < 100 && state.next > shown + 1) markShown(state.next);
        if (!have || 100 - state.next <= LOW) return download();
      });
    }).catch(function () {
      say('This browser does not let the page read its storage (private browsing may block it).');
    });
  }

  // Home screen: the browser's own prompt where it offers one, the hint
  // everywhere else, nothing once installed.
  var standalone = window.matchMedia('(display-mode: standalone)').matches || navigator.standalone === true;
  var deferred = null;
  window.addEventListener('beforeinstallprompt', function (e) {
    e.preventDefault(); deferred = e; show('install-btn', true);
  });
  // Hidden for good: the choice is kept in the stored record, so the
  // advice does not come back at each opening.
  $('install-dismiss').addEventListener('click', function () {
    if (!state) return;
    state.installHidden = true;
    // Hidden once kept: a reload right after the tap must not find the
    // advice back because the write had not landed yet.
    save().then(renderInstall);
  });
  $('install-btn').addEventListener('click', function () {
    if (deferred) { deferred.prompt(); deferred = null; show('install-btn', false); }
  });

  // The browser's own word on the connection: offline is offline at once;
  // back online, the server may still be out of reach (mobile data away
  // from the office), so it is asked.
  window.addEventListener('offline', function () { reach = false; renderEmpty(); });
  window.addEventListener('online', function () { if (!$('empty').hidden) checkReach(); });

  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('/userportal/app/sw.js', { scope: '/userportal/app/' }).catch(function (e) {
      // Chromium refuses a service worker to a site whose certificate it
      // does not trust, as a fresh server's self-signed one ("An SSL
      // certificate error occurred when fetching the script"): the page
      // then does not open offline and cannot be installed, whatever the
      // Home Screen advice says, and the person should know before
      // counting on it. Other refusals (a private window) say nothing.
      if (e && e.name === 'SecurityError' && /certificate|SSL/i.test(String(e.message))) {
        untrusted = true;
        note('offline copy refused: this browser does not trust the server certificate');
        renderInstall();
      }
    });
  }
  start();
})();
