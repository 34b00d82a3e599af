/** The broker's client roles (the design "Security"); each has its topic ACL (acl.ts). */
export const Roles = ['driver', 'service', 'ui', 'technician', 'uplink'] as const;
export type Role = (typeof Roles)[number];
