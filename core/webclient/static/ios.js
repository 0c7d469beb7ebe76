// iPhone and iPad keep a Home Screen web app's storage apart from
// Safari's: strings stored in a Safari tab are not in the Home Screen
// copy, which starts "not set up". In a Safari tab (navigator.standalone
// is false there and true in the Home Screen copy; other systems do not
// have it) this shows the elements marked data-ios-tab="show" and hides
// those marked data-ios-tab="hide"; everywhere else the reverse. Loaded
// by the authenticator and by the Provision URL page.
'use strict';
var ProvisioIOS = (function () {
  var ua = navigator.userAgent || '';
  // iPadOS asks for desktop pages with a Mac's User-Agent; a Mac has no
  // touch screen.
  var ios = /iPhone|iPad|iPod/.test(ua) || (/Macintosh/.test(ua) && navigator.maxTouchPoints > 1);
  var tab = ios && navigator.standalone === false;
  Array.prototype.forEach.call(document.querySelectorAll('[data-ios-tab]'), function (el) {
    el.hidden = (el.getAttribute('data-ios-tab') === 'show') !== tab;
  });
  return { tab: tab };
})();
