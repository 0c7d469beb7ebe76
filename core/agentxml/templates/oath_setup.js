'use strict';
// One tap, one POST (as provision.js does for the mobile client's set-up).
// On a slow line a person taps again when nothing seems to happen; the
// browser then sends the code twice and shows the second answer, "used",
// while the first had issued the token: the QR code that is shown only
// once was lost, and the person needed a new link. Without scripts the
// form still works, one tap at a time.
(function () {
  var form = document.getElementById('oath-setup'), btn = document.getElementById('show-qr');
  if (!form || !btn) return;
  var label = btn.textContent, sent = false;
  form.addEventListener('submit', function (e) {
    if (sent) { e.preventDefault(); return; }
    sent = true;
    btn.disabled = true;
    btn.textContent = 'Please wait...';
  });
  // Back from the answer, a page from the back-forward cache would keep
  // its button off.
  window.addEventListener('pageshow', function (e) {
    if (!e.persisted) return;
    sent = false;
    btn.disabled = false;
    btn.textContent = label;
  });
})();
