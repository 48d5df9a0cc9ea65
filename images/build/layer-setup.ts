// A layer's declared contents carried out on its root tree, by the image's own tools run in a
// chroot (no /proc, no daemons: useradd and systemctl enable work offline): users first, so the
// files can belong to them, then the files with their owners, then units enabled or disabled.
// useradd reads SOURCE_DATE_EPOCH for the password-change date, so the same layer gives the same
// /etc/shadow in every build.
import { chownSync, existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { LayerSetup, RenderedFile } from "./config-render.ts";
import { writeRenderedFiles } from "./rootfs.ts";
import { runTool } from "./tools.ts";

export async function applyLayerContents(root: string, files: readonly RenderedFile[], setup: LayerSetup, epoch: number): Promise<void> {
  const env = { SOURCE_DATE_EPOCH: String(epoch) };
  for (const user of setup.users) {
    if (idOf(root, "passwd", user.name) !== undefined) {
      throw new Error(`user ${user.name} exists in the image already (a package created it); declare another name`);
    }
    const groups = user.groups.length > 0 ? ["--groups", user.groups.join(",")] : [];
    await runTool("chroot", [root, "useradd", "--create-home", "--user-group", "--shell", user.shell, ...groups, user.name], env);
    // sshd reads authorized_keys only from a ~/.ssh no one else may write.
    await runTool("chroot", [root, "install", "-d", "-m", "700", "-o", user.name, "-g", user.name, `/home/${user.name}/.ssh`], env);
  }
  writeRenderedFiles(root, files);
  for (const f of files) if (f.owner !== undefined && f.symlink === undefined) chownSync(join(root, f.path), ...ownerIds(root, f.owner, f.path));
  if (setup.enable.length > 0) await runTool("chroot", [root, "systemctl", "enable", ...setup.enable], env);
  if (setup.disable.length > 0) await runTool("chroot", [root, "systemctl", "disable", ...setup.disable], env);
}

/** "user" or "user:group" as ids in the tree's /etc/passwd and /etc/group ("user" alone: the user's own group). */
export function ownerIds(root: string, owner: string, path: string): [number, number] {
  const [user, group] = owner.split(":") as [string, string | undefined];
  const uid = idOf(root, "passwd", user);
  if (uid === undefined) throw new Error(`${path}: owner ${user} is no user of the image (declare it in users, or install the package that creates it)`);
  const gid = group === undefined ? gidOfUser(root, user) : idOf(root, "group", group);
  if (gid === undefined) throw new Error(`${path}: group ${group} is no group of the image`);
  return [uid, gid];
}

/** The id of a name in /etc/passwd or /etc/group of the tree. */
function idOf(root: string, table: "passwd" | "group", name: string): number | undefined {
  const row = rows(root, table).find((r) => r[0] === name);
  return row ? Number(row[2]) : undefined;
}

function gidOfUser(root: string, user: string): number | undefined {
  const row = rows(root, "passwd").find((r) => r[0] === user);
  return row ? Number(row[3]) : undefined;
}

function rows(root: string, table: "passwd" | "group"): string[][] {
  const file = join(root, "etc", table);
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(":"));
}
