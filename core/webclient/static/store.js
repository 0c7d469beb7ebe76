// The authenticator's storage: one record in IndexedDB for this origin,
// holding the device Id, the 100 security strings, the next unused index
// and the policy. Nothing is kept in localStorage or cookies, and the PIN
// is never here.
'use strict';
var ProvisioStore = (function () {
  var DB = 'provisio', STORE = 'state', KEY = 'device';
  function open() {
    return new Promise(function (resolve, reject) {
      var req = indexedDB.open(DB, 1);
      req.onupgradeneeded = function () { req.result.createObjectStore(STORE); };
      req.onsuccess = function () { resolve(req.result); };
      req.onerror = function () { reject(req.error); };
    });
  }
  function run(mode, fn) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(STORE, mode);
        var req = fn(tx.objectStore(STORE));
        tx.oncomplete = function () { db.close(); resolve(req && req.result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }
  // within settles as p does, or rejects after ms: an IndexedDB that never
  // answers (Safari has had such bugs) must not leave a person waiting.
  function within(ms, p) {
    return new Promise(function (resolve, reject) {
      var t = setTimeout(function () { reject(new Error('storage did not answer')); }, ms);
      p.then(function (v) { clearTimeout(t); resolve(v); }, function (e) { clearTimeout(t); reject(e); });
    });
  }
  return {
    // What a page says when probe() fails: the code was not sent.
    cannotKeep: 'This browser cannot keep the security strings (private browsing, or storage turned off, does this), so your code was not used. Open this page in a normal tab or the browser\'s normal window, not a private one, and set up there.',
    // What a page says when the server spent the code and keeping its
    // answer failed all the same: only a new code helps now.
    notKept: 'Your code was used, but this browser did not keep the security strings, so this phone is not set up and your previous phone, if any, no longer works. In a normal browser window, not a private one, get a new code from the self-service page or your helpdesk.',
    // probe resolves when this browser can write a record, read it back
    // in a later transaction and delete it, and rejects otherwise (no
    // IndexedDB, blocked storage, a refused write, no answer within 5 s).
    // A page runs it before sending a code: the server's answer spends
    // the code and replaces the old phone, so it must be keepable.
    probe: function () {
      var token = 'probe ' + Math.random() + ' ' + Date.now();
      return within(5000, run('readwrite', function (s) { return s.put(token, 'probe'); }).then(function () {
        return run('readonly', function (s) { return s.get('probe'); });
      }).then(function (back) {
        if (back !== token) throw new Error('storage did not keep the probe');
        return run('readwrite', function (s) { return s.delete('probe'); });
      }));
    },
    load: function () { return run('readonly', function (s) { return s.get(KEY); }); },
    save: function (state) { return run('readwrite', function (s) { return s.put(state, KEY); }); },
    forget: function () { return run('readwrite', function (s) { return s.delete(KEY); }); },
    // setUp keeps what the server's answer to a setup POST holds
    // (/userportal/setup): the one place a set-up becomes the stored
    // record, for the Provision URL page (setup.js) and for the
    // authenticator's own "Set up with a code" form (app.js) alike.
    setUp: function (data) {
      if (!data || !data.deviceId) return Promise.reject(new Error('no device'));
      var state = {
        username: data.username, deviceId: data.deviceId, strings: data.strings || [],
        next: 0, policies: data.policies || {}, server: data.server || '',
        fingerprint: data.fingerprint || '', replaced: false, setupAt: Date.now()
      };
      var self = this;
      return within(10000, self.save(state)).then(function () { return self.persist(); });
    },
    // Asks the browser not to evict the strings under storage pressure.
    persist: function () {
      if (navigator.storage && navigator.storage.persist) {
        return navigator.storage.persist().catch(function () { return false; });
      }
      return Promise.resolve(false);
    }
  };
})();
