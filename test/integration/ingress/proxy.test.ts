import { proxySuite } from "./proxySuite.js"

// node:http keep-alive agents upstream (the default)
proxySuite("agent")
