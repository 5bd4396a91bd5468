// "Use your own images": the data a search runs on. A folder chosen with the directory input or
// dropped on the page goes to the engine Worker, which decodes its training part by the CLI's rules
// while the page stays responsive; the page then shows its classes with counts and sample images,
// the files skipped or left out, and the folder's settings (sgas search's --image-size, --resize,
// --test-portion, --split-seed). A folder that cannot be used is refused with the CLI's message,
// naming it, and the data stays what it was.
import { describeSplit } from '../data/dataInfo.ts';
import { RESIZE_FILTERS, type ResizeFilter } from '../data/resample.ts';
import { element, row, SettingsError, showFieldError } from './controls.ts';
import type { EngineClient } from './engineClient.ts';
import { chosenFolder, droppedFolder } from './folderInput.ts';
import type { FolderSettings, FolderSummary, ImageFolder } from './protocol.ts';
import { EMBEDDED, type DataChoice } from './session.ts';
import type { StoredFolder } from './storage.ts';

const byId = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const DEFAULT_SETTINGS: FolderSettings = { imageSize: null, resize: 'area', testPortion: 0.2, splitSeed: 0 };

const EMBEDDED_TEXT = 'Fashion-MNIST (embedded): 10,000 training images, 28×28 grayscale, 10 classes.';

const plural = (n: number, word: string) => `${n.toLocaleString('en')} ${word}${n === 1 ? '' : 's'}`;

/** Sample images side by side on one canvas, at the size the network sees them. */
function sampleStrip(summary: FolderSummary, label: number): HTMLCanvasElement {
  const [height, width] = summary.imageSize;
  const samples = summary.samples.filter((s) => s.label === label);
  const canvas = element('canvas', { width: String(Math.max(1, samples.length) * width), height: String(height) });
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `${plural(samples.length, 'sample image')} of ${summary.classes[label]}`);
  const context = canvas.getContext('2d');
  if (!context || !samples.length) return canvas;
  const plane = height * width;
  samples.forEach(({ image }, k) => {
    const rgba = new ImageData(width, height);
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) rgba.data[4 * p + c] = image.pixels[(image.gray ? 0 : c) * plane + p]!;
      rgba.data[4 * p + 3] = 255;
    }
    context.putImageData(rgba, k * width, 0);
  });
  return canvas;
}

export class DataPanel {
  /** Called when what the panel offers changes: its choice, or whether it is reading a folder. */
  onChange: () => void = () => {};
  private choice: DataChoice = EMBEDDED;
  /** The folder shown, while its summary is asked for and after; null: the embedded data. */
  private folder: ImageFolder | null = null;
  /** The summary request in flight (-1: reading the folder's files; 0: none); answers to older ones are dropped. */
  private request = 0;
  /** A folder setting that cannot be read, which keeps a search from starting. */
  private invalid: SettingsError | null = null;
  private readonly status = byId('data-status');
  private readonly input = byId<HTMLInputElement>('folder-input');
  private readonly choose = byId<HTMLButtonElement>('choose-folder');
  private readonly embedded = byId<HTMLButtonElement>('use-embedded');
  private readonly form = byId<HTMLFormElement>('folder-settings');
  private readonly section = byId('dataset');
  private readonly fields = {
    imageSize: element('input', { id: 'folder-image-size', type: 'number', min: '0', step: '1', placeholder: 'auto' }),
    resize: element('select', { id: 'folder-resize' }, ...RESIZE_FILTERS.map((f) => element('option', { value: f, textContent: f }))),
    testPortion: element('input', { id: 'folder-test-portion', type: 'number', min: '0', max: '1', step: '0.05', required: true }),
    splitSeed: element('input', { id: 'folder-split-seed', type: 'number', min: '0', step: '1', required: true }),
  };

  constructor(private readonly engine: EngineClient) {
    const sizeNote = element('p', { id: 'folder-image-size-note', className: 'muted small note',
      textContent: "Empty: the images' own size when all share one square size of at most 64 (a multiple of 4), else 32." });
    this.fields.imageSize.setAttribute('aria-describedby', sizeNote.id);
    this.form.append(
      row(this.fields.imageSize.id, 'Image size', this.fields.imageSize), sizeNote,
      row(this.fields.resize.id, 'Resize', this.fields.resize),
      row(this.fields.testPortion.id, 'Test portion', this.fields.testPortion),
      row(this.fields.splitSeed.id, 'Split seed', this.fields.splitSeed),
    );
    this.showSettings(DEFAULT_SETTINGS);
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.form.addEventListener('change', () => this.folder && this.summarise(this.folder));
    this.choose.addEventListener('click', () => this.input.click());
    this.input.addEventListener('change', () => {
      const files = [...(this.input.files ?? [])];
      // Cleared, so that choosing the same folder again (changed on disk) is a change too.
      this.input.value = '';
      this.take(() => chosenFolder(files));
    });
    this.embedded.addEventListener('click', () => this.useEmbedded());
    this.acceptDrops();
    this.showStatus(EMBEDDED_TEXT);
  }

  /** The data a search started now runs on. */
  get current(): DataChoice {
    return this.choice;
  }

  /** The data to start a search on, or null after showing the folder setting at fault, focused. */
  readyOrShow(): DataChoice | null {
    if (!this.invalid) return this.choice;
    showFieldError(this.form, this.status, this.invalid);
    this.invalid.field?.focus();
    return null;
  }

  /** Reading a folder: a search cannot start until it is read. */
  get busy(): boolean {
    return this.request !== 0;
  }

  set disabled(value: boolean) {
    for (const control of [this.choose, this.embedded, ...Object.values(this.fields)]) control.disabled = value;
  }

  /** The folder a stored search runs on, after a reload: its kept images stand in for its files. */
  showStored(stored: StoredFolder): void {
    this.folder = stored.folder;
    this.showSettings(stored.settings);
    this.show(stored.folder, stored.settings, stored.summary);
  }

  private acceptDrops(): void {
    const isFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
    document.addEventListener('dragover', (e) => {
      if (!isFiles(e)) return;
      e.preventDefault();
      e.dataTransfer!.dropEffect = this.choose.disabled ? 'none' : 'copy';
      document.body.classList.toggle('dropping', !this.choose.disabled);
    });
    document.addEventListener('dragleave', (e) => e.relatedTarget === null && document.body.classList.remove('dropping'));
    document.addEventListener('drop', (e) => {
      if (!isFiles(e)) return;
      // Not handled, a dropped file would replace the page.
      e.preventDefault();
      document.body.classList.remove('dropping');
      if (!this.choose.disabled) this.take(() => droppedFolder(e.dataTransfer!.items));
    });
  }

  private take(read: () => ImageFolder | Promise<ImageFolder>): void {
    const showing = this.request = -1;
    this.onChange();
    Promise.resolve().then(read).then(
      (folder) => this.summarise(folder),
      (e: Error) => this.request === showing && this.refuse(null, e),
    );
  }

  /** Asks the engine to read the folder with the settings as they stand; shows it, or why it cannot be used. */
  private async summarise(folder: ImageFolder): Promise<void> {
    let settings: FolderSettings;
    try {
      settings = this.readSettings();
    } catch (e) {
      this.refuse(folder, e as Error);
      return;
    }
    this.invalid = null;
    showFieldError(this.form, this.status, null);
    const id = this.request = this.engine.newId();
    this.onChange();
    this.showStatus(`Reading ${folder.name}…`);
    const stop = this.engine.listen((event) => {
      if (event.type === 'decoding' && event.request === id) this.showStatus(`Reading ${folder.name}: ${plural(event.decoded, 'image')} decoded…`);
    });
    const answer = await this.engine.ask({ type: 'folder', folder, settings }, id).catch((e: Error) => e);
    stop();
    if (id !== this.request) return;
    if (answer instanceof Error || !answer.summary) this.refuse(folder, answer instanceof Error ? answer : new Error('the engine read no images'));
    else this.show(folder, settings, answer.summary);
  }

  /** The folder cannot be used (or not with these settings): the message, and the data as it was before it. */
  private refuse(folder: ImageFolder | null, error: Error): void {
    this.request = 0;
    const before = this.choice.summary?.name;
    const keeps = ` (the search keeps ${before ? `the folder ${before}` : 'Fashion-MNIST'})`;
    const field = error instanceof SettingsError ? error.field : null;
    const shown = new SettingsError(field ? error.message : `Not used: ${error.message}${keeps}`, field);
    showFieldError(this.form, this.status, shown);
    this.invalid = field ? shown : null;
    // A folder waiting for its settings is read once they are fixed.
    if (folder && field) this.folder = folder;
    this.onChange();
  }

  private show(folder: ImageFolder, settings: FolderSettings, summary: FolderSummary): void {
    this.request = 0;
    this.folder = folder;
    this.choice = { source: { kind: 'folder', folder, settings }, summary };
    this.form.hidden = false;
    this.embedded.hidden = false;
    const images = summary.counts.train.reduce((a, b) => a + b, 0) + summary.counts.test.reduce((a, b) => a + b, 0);
    this.showStatus(`${folder.name}: ${plural(images, 'image')} in ${summary.classes.length} classes, ${summary.imageSize.join('×')}${folder.files.length ? '' : ' (kept in this browser)'}.`);
    this.drawSummary(summary);
    this.onChange();
  }

  private useEmbedded(): void {
    this.request = 0;
    this.invalid = null;
    this.folder = null;
    this.choice = EMBEDDED;
    this.form.hidden = true;
    this.embedded.hidden = true;
    this.section.hidden = true;
    showFieldError(this.form, this.status, null);
    this.showStatus(EMBEDDED_TEXT);
    this.onChange();
    this.choose.focus();
  }

  private showStatus(text: string): void {
    this.status.classList.remove('error');
    this.status.textContent = text;
  }

  private showSettings(settings: FolderSettings): void {
    this.fields.imageSize.value = settings.imageSize ? String(settings.imageSize) : '';
    this.fields.resize.value = settings.resize;
    this.fields.testPortion.value = String(settings.testPortion);
    this.fields.splitSeed.value = String(settings.splitSeed);
  }

  /** The folder settings as the form stands; a SettingsError names the field by its label, with the flag's range. */
  private readSettings(): FolderSettings {
    const number = (input: HTMLInputElement, label: string, ok: (n: number) => boolean, expected: string) => {
      const raw = input.value.trim();
      const n = Number(raw);
      if (raw === '' || !Number.isFinite(n) || !ok(n)) throw new SettingsError(`${label}: expected ${expected}, got '${raw}'`, input);
      return n;
    };
    const { imageSize, resize, testPortion, splitSeed } = this.fields;
    const size = imageSize.value.trim() === '' ? 0 : number(imageSize, 'Image size', (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer, or empty for auto');
    return {
      imageSize: size || null,
      resize: resize.value as ResizeFilter,
      testPortion: number(testPortion, 'Test portion', (n) => n > 0 && n < 1, 'a number > 0 and < 1'),
      splitSeed: number(splitSeed, 'Split seed', (n) => Number.isSafeInteger(n) && n >= 0, 'a non-negative integer'),
    };
  }

  private drawSummary(summary: FolderSummary): void {
    const total = (counts: number[]) => counts.reduce((a, b) => a + b, 0);
    const [train, test] = [total(summary.counts.train), total(summary.counts.test)];
    byId('dataset-title').textContent = `Your images: ${summary.name}`;
    byId('dataset-line').textContent = `${plural(train + test, 'image')} (${train.toLocaleString('en')} training, ${test.toLocaleString('en')} test) in ` +
      `${summary.classes.length} classes · ${summary.imageSize.join('×')} (${summary.resize} resize), ${plural(summary.channels, 'channel')} · split: ${describeSplit(summary.split)}`;
    byId('dataset-classes').replaceChildren(...summary.classes.map((name, label) => element('li', {},
      element('span', { className: 'class-name', textContent: name }),
      element('span', { className: 'counts muted', textContent: `${summary.counts.train[label]!.toLocaleString('en')} training · ${summary.counts.test[label]!.toLocaleString('en')} test` }),
      sampleStrip(summary, label))));
    byId('dataset-notes').replaceChildren(...summary.notes.map((note) => element('li', { textContent: note })));
    const skipped = byId<HTMLDetailsElement>('dataset-skipped');
    skipped.hidden = !summary.skipped.length;
    skipped.open = summary.skipped.length <= 10;
    skipped.querySelector('summary')!.textContent = `${plural(summary.skipped.length, 'training image')} skipped: not decodable`;
    skipped.querySelector('ul')!.replaceChildren(...summary.skipped.map((s) => element('li', {}, element('code', { textContent: s.file }), ` — ${s.reason}`)));
    this.section.hidden = false;
  }
}
