// optsurf report, index page: a figure that has a GIF beside its PNG switches between the two.
(function () {
  'use strict';
  document.querySelectorAll('button.animate').forEach(function (button) {
    var img = button.closest('figure').querySelector('img');
    button.addEventListener('click', function () {
      var animated = img.getAttribute('src') === img.dataset.anim;
      img.setAttribute('src', animated ? img.dataset.still : img.dataset.anim);
      button.textContent = animated ? 'play GIF' : 'show still';
    });
  });
}());
