import { proxySuite } from "./proxySuite.js"

// the same behaviour with undici pools upstream
proxySuite("undici")
