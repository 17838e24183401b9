// Placeholder entry point of the console (the real UI replaces this file).
const view = document.getElementById('view');
view.textContent = 'Cairn console';
view.dataset.state = 'ready';
