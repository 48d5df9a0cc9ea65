// Setting attributes of one element in a configuration file the image's packages installed (tomcat's
// server.xml: the HTTP connector's maxThreads from the variant's threadPool), leaving the rest of
// the packaged file as it is. Text-level on purpose: comments, layout and the packaged defaults stay
// byte for byte, and elements inside comments (server.xml ships several) are never touched.

/** Which element to change and how: the first `<element>` outside comments whose attributes include `where`. */
export interface XmlAttributeEdit {
  element: string;
  where: Record<string, string>;
  set: Record<string, string>;
}

const escapeAttr = (v: string) => v.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");

/** The text with the edit made; throws when no such element is there. */
export function setXmlAttributes(text: string, edit: XmlAttributeEdit): string {
  const tag = new RegExp(`<!--[\\s\\S]*?-->|<${edit.element}(?=[\\s/>])[^>]*>`, "g");
  for (const m of text.matchAll(tag)) {
    if (m[0].startsWith("<!--")) continue;
    const attrs = new Map([...m[0].matchAll(/([A-Za-z_:][\w:.-]*)\s*=\s*"([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    if (!Object.entries(edit.where).every(([k, v]) => attrs.get(k) === v)) continue;
    let start = m[0];
    for (const [name, value] of Object.entries(edit.set)) {
      const existing = new RegExp(`(\\s${name}\\s*=\\s*)"[^"]*"`);
      start = existing.test(start) ? start.replace(existing, `$1"${escapeAttr(value)}"`) : start.replace(`<${edit.element}`, `<${edit.element} ${name}="${escapeAttr(value)}"`);
    }
    return text.slice(0, m.index) + start + text.slice(m.index + m[0].length);
  }
  const where = Object.entries(edit.where).map(([k, v]) => ` ${k}="${v}"`).join("");
  throw new Error(`no <${edit.element}${where}> outside comments`);
}
