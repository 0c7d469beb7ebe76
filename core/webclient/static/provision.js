// The Provision URL page's "Set up this phone" button (its page is
// core/agentxml's templates/provision.html; the script is served here with
// the web client's other files). Three things a plain form cannot do:
//
// One tap, one POST. On a slow connection a person taps again when nothing
// seems to happen; the browser then sent the code twice and showed the
// second answer ("This code could not be used") while the first had set
// the phone up, so nothing was stored, the code was spent and the old
// phone had stopped working.
//
// Already set up. The back button from the authenticator leads here, to a
// button whose tap can only fail for a spent code; when this browser
// already holds a working set-up of the link's user, the page says so and
// links to the authenticator.
//
// Keepable storage. The code is spent by the server's answer, which also
// stops the old phone; a browser that cannot keep the answer (IndexedDB
// blocked, or refused) would be left with nothing. The tap first tries a
// record (ProvisioStore.probe) and, when that fails, sends nothing and
// says why and what to do.
//
// A computer. People read the mail at their desk and click the link there;
// "Set up this phone" then made the computer's browser the authenticator
// and stopped the phone. On a computer (no touch screen) the page
// shows the QR code that opens it on the phone, and the button says what
// it does there.
//
// The button starts disabled and this script turns it on: a tap before
// the script ran (a slow connection) or with scripts off posted the form
// all the same, which spent the code for an answer page that, without
// its own script, keeps nothing. Without scripts the page says so.
'use strict';
(function () {
  var btn = document.getElementById('setup-phone');
  var already = document.getElementById('already');
  var problem = document.getElementById('setup-problem');
  if (!btn || !btn.form) return;
  // No touch screen and no phone's User-Agent. (The pointer media
  // queries cannot tell: a computer without a mouse answers "none".)
  var computer = navigator.maxTouchPoints === 0 && !/Mobi|Android|iPhone|iPad|iPod/.test(navigator.userAgent || '');
  var onComputer = document.getElementById('on-computer');
  if (computer && onComputer) {
    onComputer.hidden = false;
    btn.textContent = 'Set up this browser instead';
  }
  var form = btn.form, label = btn.textContent, sent = false;
  function ready() {
    sent = false;
    btn.disabled = false;
    btn.textContent = label;
  }
  ready();
  form.addEventListener('submit', function (e) {
    if (sent) { e.preventDefault(); return; }
    sent = true;
    btn.disabled = true;
    btn.textContent = 'Provisioning. Please wait...';
    if (problem) problem.hidden = true;
    if (typeof ProvisioStore === 'undefined' || !problem) return;
    e.preventDefault();
    ProvisioStore.probe().then(function () {
      // submit() sends the form without this handler.
      form.submit();
    }, function () {
      ready();
      problem.textContent = ProvisioStore.cannotKeep;
      problem.hidden = false;
    });
  });
  // The button comes back on only when the page comes back from the
  // back-forward cache (persisted), where it would stay disabled; the
  // pageshow of a load that ends during the tap's storage check must not
  // turn it on for a second tap.
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) ready();
    check();
  });
  function check() {
    if (!already || typeof ProvisioStore === 'undefined') return;
    var user = String(form.elements.username.value).toLowerCase();
    ProvisioStore.load().then(function (s) {
      var mine = !!s && !s.replaced && !!s.deviceId && String(s.username).toLowerCase() === user;
      if (mine) already.querySelector('[data-user]').textContent = s.username;
      already.hidden = !mine;
    }, function () { already.hidden = true; });
  }
})();
