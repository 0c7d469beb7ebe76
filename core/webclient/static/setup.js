// Runs on the answer to "Set up this phone": keeps what the server sent in
// IndexedDB (ProvisioStore.setUp, shared with the authenticator's own
// set-up form), then leaves for the authenticator. The page's URL holds
// nothing secret, and replace() keeps it out of the history.
'use strict';
(function () {
  var el = document.getElementById('setup');
  var msg = document.getElementById('message');
  var data;
  try { data = JSON.parse(el.getAttribute('data-setup')); } catch (e) { data = null; }
  el.remove();
  if (!data || !data.deviceId) {
    msg.textContent = 'The server answer could not be read. Ask your administrator for a new code.';
    return;
  }
  ProvisioStore.setUp(data).then(function () {
    location.replace('/userportal/app/');
  }).catch(function () {
    msg.textContent = 'This browser would not store the security strings (private browsing may block it). Open the link in a normal window and ask for a new code.';
  });
})();
