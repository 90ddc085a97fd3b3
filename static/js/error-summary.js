/* The error summary after a failed submit (templates/_error_summary.html, GOV.UK pattern):
 * move the focus to it so screen readers announce it, and make each link put the focus in
 * its field (following the #id alone only scrolls there), with the field's label in view. */
(function () {
  'use strict';
  function init() {
    var summary = document.querySelector('[data-error-summary]');
    if (!summary) return;
    summary.focus();
    summary.addEventListener('click', function (event) {
      var link = event.target.closest('a[href^="#"]');
      if (!link) return;
      var field = document.getElementById(link.getAttribute('href').slice(1));
      if (!field) return;
      event.preventDefault();
      var label = document.querySelector('label[for="' + field.id + '"]');
      var legend = field.closest('fieldset') && field.closest('fieldset').querySelector('legend');
      (legend || label || field).scrollIntoView();
      field.focus({ preventScroll: true });
    });
  }
  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
})();
