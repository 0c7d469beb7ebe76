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
  return {
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
      return self.save(state).then(function () { return self.persist(); });
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
