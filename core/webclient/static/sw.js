// Service worker of the authenticator: keeps the page's own files so it
// opens offline. Network first, so a server update arrives as soon as the
// phone is online; the cache answers when the network fails, or when it
// has not answered within NETWORK_MS (a server that accepts connections
// but never replies, such as an office address seen from mobile data,
// would otherwise hold the page for a minute or more). With nothing
// cached, the network's answer is awaited however long it takes. API
// calls (POST) are never cached: they carry the device Id.
'use strict';
var CACHE = 'provisio-app-v1';
var FILES = ['./', 'app.css', 'store.js', 'ios.js', 'app.js', 'manifest.webmanifest', 'icon-192.png', 'icon-512.png'];
var NETWORK_MS = 3000;
// After the network missed one deadline the page's other files come from
// the cache at once for SLOW_MS, so a page does not wait once per file.
var SLOW_MS = 10000;
var slowUntil = 0;

self.addEventListener('install', function (e) {
  e.waitUntil(caches.open(CACHE).then(function (c) { return c.addAll(FILES); }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener('activate', function (e) {
  e.waitUntil(caches.keys().then(function (keys) {
    return Promise.all(keys.filter(function (k) { return k !== CACHE; }).map(function (k) { return caches.delete(k); }));
  }).then(function () { return self.clients.claim(); }));
});

function offline() {
  return new Response('Offline, and this page is not stored on the phone.', { status: 503, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

self.addEventListener('fetch', function (e) {
  var req = e.request;
  if (req.method !== 'GET') return;
  function cached() { return caches.match(req, { ignoreSearch: true }); }
  var network = fetch(req).then(function (res) {
    if (res.ok) {
      var copy = res.clone();
      caches.open(CACHE).then(function (c) { return c.put(req, copy); });
    }
    return res;
  });
  e.respondWith(new Promise(function (resolve) {
    var done = false;
    function answer(res) { if (!done) { done = true; resolve(res); } }
    var wait = Date.now() < slowUntil ? 0 : NETWORK_MS;
    var timer = setTimeout(function () {
      if (wait > 0) slowUntil = Date.now() + SLOW_MS;
      // Nothing cached: keep waiting for the network.
      cached().then(function (hit) { if (hit) answer(hit); }, function () {});
    }, wait);
    network.then(function (res) {
      clearTimeout(timer);
      slowUntil = 0;
      answer(res);
    }, function () {
      clearTimeout(timer);
      cached().then(function (hit) { answer(hit || offline()); }, function () { answer(offline()); });
    });
  }));
});
