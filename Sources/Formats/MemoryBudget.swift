import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The bounded-allocation rule: every allocation whose size comes from user input (a file's
/// header, a count, a shape, a number of networks) is computed with overflow-checked
/// arithmetic and compared with the memory the machine has **before** it is made. What would
/// not fit is refused with an error that names the setting or file field, the estimate and the
/// budget, instead of an abort inside the allocator or a swap storm.
///
/// The budget is 80 % of physical memory, or `SAD_MAX_MEMORY_MB` when set (tests use it).
public enum MemoryBudget {
    /// Bytes that one process may plan to hold at once.
    public static var bytes: Int {
        if let raw = ProcessInfo.processInfo.environment["SAD_MAX_MEMORY_MB"], let mb = Int(raw), mb >= 1, mb <= 1 << 30
        {
            return mb << 20
        }
        let pages = Int(sysconf(Int32(_SC_PHYS_PAGES))), size = Int(sysconf(Int32(_SC_PAGESIZE)))
        guard pages > 0, size > 0 else { return 8 << 30 }
        let (total, overflow) = pages.multipliedReportingOverflow(by: size)
        return overflow ? Int.max / 2 : total / 10 * 8
    }

    /// Overflow-checked product of `factors` (element counts, byte sizes); nil on overflow.
    public static func product(_ factors: [Int]) -> Int? {
        var p = 1
        for f in factors {
            guard f >= 0 else { return nil }
            let (r, o) = p.multipliedReportingOverflow(by: f)
            if o { return nil }
            p = r
        }
        return p
    }

    /// Refuses a planned allocation of `factors` multiplied (bytes) that overflows or exceeds
    /// the budget. `what` says what it is for; `setting` names the input that sizes it.
    @discardableResult
    public static func require(_ factors: [Int], for what: String, setting: String) throws -> Int {
        guard let total = product(factors) else {
            throw SettingError(
                setting: setting, expected: "a size whose \(what) can be represented",
                found: "\(factors.map(String.init).joined(separator: " × ")) (overflows)")
        }
        let budget = bytes
        guard total <= budget else {
            throw SettingError(
                setting: setting, expected: "\(what) within the memory budget of \(describe(budget))",
                found: "\(describe(total)) needed (set SAD_MAX_MEMORY_MB to change the budget)")
        }
        return total
    }

    /// The same for a file field: a header that announces more data than memory holds.
    @discardableResult
    public static func require(_ factors: [Int], for what: String, file: String, field: String) throws -> Int {
        do { return try require(factors, for: what, setting: field) } catch let e as SettingError {
            throw FormatError(file: file, field: field, expected: e.expected, found: e.found)
        }
    }

    public static func describe(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= 1_073_741_824 { return String(format: "%.1f GiB", b / 1_073_741_824) }
        if b >= 1_048_576 { return String(format: "%.1f MiB", b / 1_048_576) }
        return "\(bytes) bytes"
    }
}
