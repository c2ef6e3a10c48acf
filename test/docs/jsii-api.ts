/**
 * The public API as the jsii assembly (.jsii) records it, for checking names used in docs.
 * The assembly is what every language binding is generated from, so a name found here is
 * one a user can write. (It is written by the jsii compile: `npx projen compile`.)
 */
import * as fs from 'fs';
import * as path from 'path';
import { rootDir } from './markdown';

interface TypeRef { readonly fqn?: string }
interface Member {
  readonly name: string;
  readonly static?: boolean;
  readonly type?: TypeRef;
  readonly parameters?: { name: string; type: TypeRef }[];
}
interface JsiiType {
  readonly kind: 'class' | 'interface' | 'enum';
  readonly fqn: string;
  readonly name: string;
  readonly datatype?: boolean;
  readonly base?: string;
  readonly interfaces?: string[];
  readonly initializer?: Member;
  readonly properties?: Member[];
  readonly methods?: Member[];
  readonly members?: { name: string }[];
}

export class JsiiApi {
  private readonly types: Map<string, JsiiType>;

  constructor(assemblyFile = path.join(rootDir, '.jsii')) {
    const assembly = JSON.parse(fs.readFileSync(assemblyFile, 'utf8')) as { types: Record<string, JsiiType> };
    this.types = new Map(Object.values(assembly.types).map((t) => [t.name, t]));
  }

  /** The exported type of this name, if there is one. */
  type(name: string): JsiiType | undefined {
    return this.types.get(name);
  }

  /** The type a reference names, if it is one of ours. */
  ofRef(ref: TypeRef | undefined): JsiiType | undefined {
    const fqn = ref?.fqn;
    return fqn ? [...this.types.values()].find((t) => t.fqn === fqn) : undefined;
  }

  /** Properties, methods and enum members of a type and of its bases that are ours. */
  members(type: JsiiType): Member[] {
    const own: Member[] = [...(type.properties ?? []), ...(type.methods ?? []), ...(type.members ?? [])];
    const bases = [type.base, ...(type.interfaces ?? [])].map((fqn) => (fqn ? this.ofRef({ fqn }) : undefined));
    return [...own, ...bases.flatMap((b) => (b ? this.members(b) : []))];
  }

  /** Instance methods of this name, on any of our classes. */
  instanceMethods(name: string): Member[] {
    return [...this.types.values()].flatMap((t) => (t.methods ?? []).filter((m) => m.name === name && !m.static));
  }

  /** A struct (a props or options interface) by reference. */
  struct(ref: TypeRef | undefined): JsiiType | undefined {
    const type = this.ofRef(ref);
    return type?.kind === 'interface' && type.datatype ? type : undefined;
  }
}
