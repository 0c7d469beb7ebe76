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
  // The code is spent by now: a failure (or no answer from storage
  // within setUp's time) says so and where a new code comes from.
  ProvisioStore.setUp(data).then(function () {
    location.replace('/userportal/app/');
  }).catch(function () {
    document.title = document.querySelector('h1').textContent = 'This phone was not set up';
    msg.textContent = ProvisioStore.notKept;
    msg.className = 'problem';
    msg.setAttribute('role', 'alert');
    document.getElementById('not-kept').hidden = false;
  });
})();
