// @ts-check
/**
 * TypeDoc plugin: headings made of code keep their text in the page's table of contents and in
 * their anchor.
 *
 * TypeDoc 0.28 builds a heading's TOC entry and id from the heading's plain-text tokens only, so
 * `` ## `verify()` `` gets an empty entry and the id `_`, and `` ## The `authorize` hook `` becomes
 * "The  hook" with the id `the-hook`. This plugin gives every inline code token of a heading a
 * text child carrying the code's text: TypeDoc's heading renderer reads text through children,
 * while markdown-it still renders the token as `<code>`. Anchors then match GitHub's
 * (`#the-authorize-hook`), so links between guides work on GitHub and on the site alike.
 *
 * Loaded by the root typedoc.json (`plugin`); checked by test/site.test.ts.
 */

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.on('bootstrapEnd', () => {
    /** @type {(parser: any) => void} */
    const previous = app.options.getValue('markdownItLoader');
    app.options.setValue('markdownItLoader', (/** @type {any} */ parser) => {
      previous(parser);
      parser.core.ruler.push('hooks_code_heading_text', (/** @type {any} */ state) => {
        const tokens = state.tokens;
        for (let index = 0; index < tokens.length - 1; index++) {
          if (tokens[index].type !== 'heading_open') continue;
          for (const child of tokens[index + 1].children ?? []) {
            if (child.type !== 'code_inline' || child.children) continue;
            const text = new state.Token('text', '', 0);
            text.content = child.content;
            child.children = [text];
          }
        }
      });
    });
  });
}
