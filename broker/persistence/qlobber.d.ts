declare module 'qlobber' {
  interface QlobberOptions {
    separator?: string;
    wildcard_one?: string;
    wildcard_some?: string;
  }
  class QlobberTrue {
    constructor(options?: QlobberOptions);
    add(topic: string): this;
    test(topic: string): boolean;
  }
  const qlobber: { QlobberTrue: typeof QlobberTrue };
  export default qlobber;
}

declare module 'qlobber/aedes/qlobber-sub.js' {
  interface SubValue {
    clientId: string;
    topic: string;
    qos?: number;
    rh?: number;
    rap?: boolean;
    nl?: boolean;
  }
  class QlobberSub {
    constructor(options?: { separator?: string; wildcard_one?: string; wildcard_some?: string });
    subscriptionsCount: number;
    add(topic: string, value: SubValue): this;
    remove(topic: string, value: Pick<SubValue, 'clientId' | 'topic'>): this;
    match(topic: string): SubValue[];
  }
  export default QlobberSub;
}
