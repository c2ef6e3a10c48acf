import { ApiObject } from 'cdk8s';
import { IConstruct } from 'constructs';

/**
 * The constructs of one app, found by walking its tree once and then only the parts added
 * to it (`add`), so app-wide checks cost a lookup each instead of a walk of the whole tree
 * each (which made building and synthesizing an app quadratic in its size).
 */
export class AppIndex {
  private readonly seen = new Set<IConstruct>();
  /** Every construct, in the order found (`instancesOf` resumes where it stopped). */
  private readonly constructs: IConstruct[] = [];
  private readonly kinds = new Map<string, ApiObject[]>();
  private readonly types = new Map<Function, { readonly found: IConstruct[]; upTo: number }>();

  /** Indexes the whole tree of `root`. */
  constructor(root: IConstruct) {
    this.add(root);
  }

  /** Indexes `scope` and everything under it that is not indexed yet. */
  add(scope: IConstruct): void {
    for (const c of scope.node.findAll()) {
      if (this.seen.has(c)) continue;
      this.seen.add(c);
      this.constructs.push(c);
      if (c instanceof ApiObject) {
        const ofKind = this.kinds.get(c.kind);
        if (ofKind) ofKind.push(c);
        else this.kinds.set(c.kind, [c]);
      }
    }
  }

  /**
   * Indexes the children of `scope` that are not indexed yet (with everything under them):
   * what was added next to an indexed construct, such as a plain ApiObject in its chart.
   */
  addNewChildren(scope: IConstruct): void {
    for (const child of scope.node.children) {
      if (!this.seen.has(child)) this.add(child);
    }
  }

  /** The ApiObjects of a kind (indexed ones, in the order found). */
  apiObjects(kind: string): readonly ApiObject[] {
    return this.kinds.get(kind) ?? [];
  }

  /** The indexed constructs that are instances of `type`, in the order found. */
  instancesOf<T extends IConstruct>(type: abstract new (...args: any[]) => T): readonly T[] {
    let entry = this.types.get(type);
    if (!entry) {
      entry = { found: [], upTo: 0 };
      this.types.set(type, entry);
    }
    // Only the constructs indexed since the last call are tested.
    for (; entry.upTo < this.constructs.length; entry.upTo++) {
      const c = this.constructs[entry.upTo];
      if (c instanceof type) entry.found.push(c);
    }
    return entry.found as T[];
  }
}
