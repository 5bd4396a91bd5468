// A folder the user gives the page, from the directory input (webkitdirectory) or dropped on it
// (DataTransferItem.webkitGetAsEntry), as the entries and files the engine reads. Hidden files and
// folders are left out as the CLI's listing leaves them out (a dropped .git is never walked).
import { isIgnoredName } from '../data/imageFolder.ts';
import type { ImageFolder } from './protocol.ts';

type FolderFile = ImageFolder['files'][number];

const hidden = (path: string) => path.split('/').some(isIgnoredName);

/**
 * The folder's entries as folderLayout takes them: its files and every folder above them, plus
 * `folders` (a directory input lists files only, so an empty folder is seen only when dropped).
 */
function folderOf(name: string, files: FolderFile[], folders: string[] = []): ImageFolder {
  const entries = new Set(folders);
  for (const { path } of files) {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) entries.add(`${parts.slice(0, i).join('/')}/`);
    entries.add(path);
  }
  return { name, entries: [...entries], files, kept: null };
}

/** The folder a directory input chose: each file's webkitRelativePath starts with the folder's name. */
export function chosenFolder(files: readonly File[]): ImageFolder {
  if (!files.length) throw new Error('the chosen folder holds no files; choose the folder that holds one folder of images per class');
  const name = files[0]!.webkitRelativePath.split('/')[0]!;
  return folderOf(name, files.map((file) => ({ path: file.webkitRelativePath.slice(name.length + 1), file })).filter((f) => !hidden(f.path)));
}

const readBatch = (reader: FileSystemDirectoryReader) => new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
const fileOf = (entry: FileSystemEntry) => new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));

/**
 * The folder dropped on the page, walked whole (readEntries answers in batches until an empty one).
 * The items can only be read while the drop event is handled: this reads them before its first await.
 */
export async function droppedFolder(items: DataTransferItemList): Promise<ImageFolder> {
  const dropped = [...items].filter((item) => item.kind === 'file').map((item) => item.webkitGetAsEntry());
  const root = dropped[0];
  if (dropped.length !== 1 || !root?.isDirectory) throw new Error('drop one folder (holding a folder of images per class), not single files');
  const files: FolderFile[] = [];
  const folders: string[] = [];
  const walk = async (dir: FileSystemDirectoryEntry, prefix: string): Promise<void> => {
    const reader = dir.createReader();
    for (let batch = await readBatch(reader); batch.length; batch = await readBatch(reader)) {
      for (const entry of batch) {
        if (isIgnoredName(entry.name)) continue;
        const path = prefix + entry.name;
        if (entry.isDirectory) {
          folders.push(`${path}/`);
          await walk(entry as FileSystemDirectoryEntry, `${path}/`);
        } else {
          files.push({ path, file: await fileOf(entry) });
        }
      }
    }
  };
  await walk(root as FileSystemDirectoryEntry, '');
  return folderOf(root.name, files, folders);
}
