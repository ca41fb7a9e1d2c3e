// ccguard console: the live parts only (server-sent events); every form works without this script.
'use strict';
(function () {
  function listen(path, onData) {
    if (!window.EventSource) return null;
    var source = new EventSource(path);
    source.onmessage = function (e) {
      onData(JSON.parse(e.data));
    };
    source.addEventListener('ended', function () {
      source.close();
    });
    return source;
  }
  function text(el, value) {
    if (el && el.textContent !== value) el.textContent = value;
  }

  // Overview: the master card hold's count-down and the readers.
  var hold = document.querySelector('[data-live="hold"]');
  if (hold) {
    listen('/live/status', function (s) {
      var total = s.holdSeconds;
      hold.max = total;
      hold.value = s.hold ? total - s.hold.remainingSeconds : 0;
      text(document.getElementById('hold-text'), s.hold ? s.hold.remainingSeconds + ' s left' : 'no card held');
      var list = document.getElementById('readers');
      if (list) {
        var items = s.readers.length
          ? s.readers.map(function (r) {
              return r.name + ': ' + (r.cardPresent ? 'card present' : 'no card');
            })
          : ['no reader attached'];
        if (list.children.length !== items.length) {
          list.textContent = '';
          items.forEach(function () {
            list.appendChild(document.createElement('li'));
          });
        }
        items.forEach(function (t, i) {
          text(list.children[i], t);
        });
      }
    });
  }

  // Master card enrolment: the prompt as each step happens.
  var prompt = document.querySelector('[data-live="enrolment"]');
  if (prompt && prompt.getAttribute('data-state') === 'running') {
    var prompts = {
      placeCard: 'Place the card on the reader.',
      removeCard: 'Remove the card.',
      placeCardAgain: 'Place the card on the reader again.',
      personalising: 'Keep the card on the reader: its keys are being written.',
    };
    var source = listen('/live/enrolment', function (s) {
      var step = s.state === 'done' ? 'done' : s.step;
      document.querySelectorAll('.steps li').forEach(function (li) {
        li.classList.toggle('current', li.getAttribute('data-step') === step);
      });
      if (s.state === 'done') {
        text(
          prompt,
          'Done: master card ' +
            s.card.id +
            ' enrolled (' +
            (s.card.kind === 'ntag424' ? 'secure card, personalised' : 'UID only') +
            '). The card may be removed.',
        );
      } else if (s.state === 'failed') {
        text(prompt, 'Not enrolled: ' + s.error);
      } else {
        text(prompt, s.step ? prompts[s.step] : 'Waiting for the reader…');
      }
      prompt.setAttribute('data-state', s.state);
      if (s.state !== 'running' && source) source.close();
    });
  }

  // Logs: follow new security events.
  var follow = document.querySelector('[data-live="events"]');
  if (follow) {
    var events = null;
    follow.addEventListener('change', function () {
      if (!follow.checked) {
        if (events) events.close();
        events = null;
        return;
      }
      events = listen('/live/events', function (list) {
        var body = document.getElementById('events');
        list.forEach(function (e) {
          var row = document.createElement('tr');
          [e.time, e.event, e.details].forEach(function (v) {
            var cell = document.createElement('td');
            cell.textContent = v;
            row.appendChild(cell);
          });
          body.insertBefore(row, body.firstChild);
        });
      });
    });
  }
})();
