import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { docsDirectory, repositoryRoot } from './markdown';

// docs/troubleshooting.md must explain every error code the packages can produce. The codes are
// read from the sources (the `*ErrorCode` unions, the codes answered in responses, the CLI's
// codes and `hooks verify` reasons), so a code added to a package without a line in the guide
// fails here.

function parse(path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(join(repositoryRoot, path), 'utf8'), ts.ScriptTarget.Latest, true);
}

function walk(node: ts.Node, visit: (node: ts.Node) => void): void {
  visit(node);
  node.forEachChild((child) => walk(child, visit));
}

/** The string literal members of a type alias (`export type SenderErrorCode = 'a' | 'b'`). */
function unionMembers(path: string, typeName: string): string[] {
  const found: string[] = [];
  let declared = false;
  walk(parse(path), (node) => {
    if (!ts.isTypeAliasDeclaration(node) || node.name.text !== typeName) return;
    declared = true;
    walk(node.type, (inner) => {
      if (ts.isLiteralTypeNode(inner) && ts.isStringLiteral(inner.literal)) found.push(inner.literal.text);
    });
  });
  if (!declared) throw new Error(`${path} declares no type ${typeName}`);
  return found;
}

/** The string literal members of one property's type in an interface (`interface Diagnosis { code: 'ok' | … }`). */
function propertyMembers(path: string, interfaceName: string, property: string): string[] {
  const found: string[] = [];
  walk(parse(path), (node) => {
    if (!ts.isInterfaceDeclaration(node) || node.name.text !== interfaceName) return;
    for (const member of node.members) {
      if (!ts.isPropertySignature(member) || member.name.getText() !== property || !member.type) continue;
      walk(member.type, (inner) => {
        if (ts.isLiteralTypeNode(inner) && ts.isStringLiteral(inner.literal)) found.push(inner.literal.text);
      });
    }
  });
  return found;
}

/**
 * Codes written as literals in a file: `code: 'x'` in object literals, `readonly code: 'x'`
 * declarations, and the argument at `calls[name]` of calls such as `errorResponse(404, 'x')` or
 * `new PortalApiError(0, 'x')`.
 */
function literalCodes(path: string, calls: Record<string, number> = {}): string[] {
  const found: string[] = [];
  walk(parse(path), (node) => {
    if (ts.isPropertyAssignment(node) && node.name.getText() === 'code' && ts.isStringLiteral(node.initializer)) found.push(node.initializer.text);
    if (ts.isPropertyDeclaration(node) && node.name.getText() === 'code' && node.type && ts.isLiteralTypeNode(node.type) && ts.isStringLiteral(node.type.literal)) {
      found.push(node.type.literal.text);
    }
    if ((ts.isCallExpression(node) || ts.isNewExpression(node)) && ts.isIdentifier(node.expression)) {
      const index = calls[node.expression.text];
      const argument = index === undefined ? undefined : node.arguments?.[index];
      if (argument && ts.isStringLiteral(argument)) found.push(argument.text);
    }
  });
  return found;
}

function sourceFiles(folder: string): string[] {
  return readdirSync(join(repositoryRoot, folder), { withFileTypes: true }).flatMap((entry) => {
    const path = `${folder}/${entry.name}`;
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** One place codes come from, and the sections of the guide that must explain them. */
interface CodeSource {
  name: string;
  codes: string[];
  sections: string[];
}

const core = 'packages/core/src';
const sender = 'packages/sender/src';
const cli = 'packages/cli/src';

const sources: CodeSource[] = [
  {
    name: '@hooks/core errors (WebhookErrorCode and the error classes)',
    codes: [
      ...unionMembers(`${core}/errors.ts`, 'WebhookErrorCode'),
      ...unionMembers(`${core}/errors.ts`, 'VerificationErrorCode'),
      ...unionMembers(`${core}/errors.ts`, 'PayloadErrorCode'),
      ...unionMembers(`${core}/errors.ts`, 'ConfigurationErrorCode'),
      ...literalCodes(`${core}/errors.ts`),
    ],
    sections: ['Receivers'],
  },
  {
    name: 'receiver answers and outcomes (receiver.ts)',
    codes: [...literalCodes(`${core}/receiver.ts`), ...unionMembers(`${core}/receiver.ts`, 'ReceiverOutcome')],
    sections: ['Receivers'],
  },
  { name: 'SenderErrorCode', codes: unionMembers(`${sender}/errors.ts`, 'SenderErrorCode'), sections: ['Sender'] },
  { name: 'invalid_url reasons (url-policy.ts)', codes: literalCodes(`${sender}/url-policy.ts`, { invalidUrl: 0 }), sections: ['Sender'] },
  { name: 'NetworkErrorCode (attempt errors)', codes: unionMembers(`${sender}/transport.ts`, 'NetworkErrorCode'), sections: ['Deliveries'] },
  {
    name: 'admin API answers (packages/sender/src/admin)',
    codes: sourceFiles(`${sender}/admin`).flatMap((path) => literalCodes(path, { errorResponse: 1, SenderError: 0 })),
    sections: ['Admin API', 'Sender'],
  },
  {
    name: 'portal errors (packages/portal/src)',
    codes: sourceFiles('packages/portal/src').flatMap((path) => literalCodes(path, { PortalApiError: 1 })),
    sections: ['Portal', 'Admin API', 'Sender'],
  },
  { name: 'CliErrorCode', codes: unionMembers(`${cli}/errors.ts`, 'CliErrorCode'), sections: ['Command line'] },
  {
    name: '`hooks verify` codes and reasons (diagnose.ts)',
    codes: [...unionMembers(`${cli}/diagnose.ts`, 'DiagnosisReason'), ...propertyMembers(`${cli}/diagnose.ts`, 'Diagnosis', 'code').filter((code) => code !== 'ok')],
    sections: ['Command line'],
  },
];

const guide = readFileSync(join(docsDirectory, 'troubleshooting.md'), 'utf8');

/** The text of each `## ` section of the guide, by title. */
const sections = new Map<string, string>();
for (const part of guide.split(/^## /m).slice(1)) {
  const newline = part.indexOf('\n');
  sections.set(part.slice(0, newline).trim(), part.slice(newline));
}

describe('docs/troubleshooting.md explains every error code', () => {
  it('has the sections the codes belong to', () => {
    const wanted = [...new Set(sources.flatMap((source) => source.sections))];
    expect(wanted.filter((title) => !sections.has(title))).toEqual([]);
  });

  it.each(sources.map((source) => [source.name, source] as const))('%s', (_name, source) => {
    // A parse that finds nothing would pass vacuously: every source has codes.
    expect(source.codes.length, `codes read from the sources of ${source.name}`).toBeGreaterThan(0);
    const text = source.sections.map((title) => sections.get(title) ?? '').join('\n');
    const missing = [...new Set(source.codes)].filter((code) => !text.includes(`\`${code}\``));
    expect(missing, `codes missing from the "${source.sections[0]}" section of ${relative(repositoryRoot, join(docsDirectory, 'troubleshooting.md'))}`).toEqual([]);
  });
});
