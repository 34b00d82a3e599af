// Every event schema registers itself on import; consumers and producers import this once.
import './core.js';
import './devices.js';
import './checkout.js';
import './uplink.js';
