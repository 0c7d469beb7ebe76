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
    // Asks the browser not to evict the strings under storage pressure.
    persist: function () {
      if (navigator.storage && navigator.storage.persist) {
        return navigator.storage.persist().catch(function () { return false; });
      }
      return Promise.resolve(false);
    }
  };
})();
