import type { Component, Requirement } from '../policy/requirements';
import { SNIPPET_FILES, type SnippetFileName, type Snippets } from './types';

/**
 * The answer's requirements said again in words where a person reads them: a comment block at the top of each
 * file a component reads (pod-identity.md: a section). Only fixed text from lib/policy/requirements.ts, never
 * request values.
 */

const FILE_COMPONENTS: Partial<Record<SnippetFileName, readonly Component[]>> = {
  [SNIPPET_FILES.awsConfig]: ['percona-backup-mongodb'],
  [SNIPPET_FILES.pbmAgentEnv]: ['percona-backup-mongodb'],
  [SNIPPET_FILES.pbmConfig]: ['percona-backup-mongodb'],
  [SNIPPET_FILES.psmdbBackupStorages]: ['percona-server-mongodb-operator', 'percona-backup-mongodb'],
  // StackGres' own minimum is fixed text in these two files (lib/snippets/stackgres.ts), said once
  [SNIPPET_FILES.sgObjectStorage]: ['wal-g'],
  [SNIPPET_FILES.veleroBsl]: ['velero', 'velero-plugin-for-aws'],
  [SNIPPET_FILES.veleroValues]: ['velero', 'velero-plugin-for-aws'],
  [SNIPPET_FILES.mountpointPv]: ['aws-mountpoint-s3-csi-driver'],
};

const WIDTH = 110;

function wrap(text: string, width = WIDTH): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/** One requirement in words: the minimum, why, and where its source says so. */
const requirementText = (r: Requirement): string =>
  `Requires ${r.component} ${r.minimumVersion} or later: ${r.why} (source: ${r.source}).`;

export function withRequirements(snippets: Snippets, requirements: readonly Requirement[]): Snippets {
  if (!requirements.length) return snippets;
  const out: Snippets = { ...snippets };
  for (const [file, text] of Object.entries(snippets) as [SnippetFileName, string][]) {
    if (file === SNIPPET_FILES.podIdentity) {
      out[file] =
        `${text.replace(/\n*$/, '\n')}\n## Versions these files need\n\n${requirements.map((r) => `- ${requirementText(r)}`).join('\n')}\n`;
      continue;
    }
    const mine = requirements.filter((r) => FILE_COMPONENTS[file]?.includes(r.component));
    if (!mine.length) continue;
    out[file] = mine.flatMap((r) => wrap(requirementText(r)).map((l) => `# ${l}\n`)).join('') + text;
  }
  return out;
}
