// The Arrow Flight SQL JDBC driver (org.apache.arrow:flight-sql-jdbc-driver)
// against quiverd, as DBeaver and other JDBC tools use it. Run by
// tests/py/test_flight_sql_clients.py with the driver jar on the class path
// (java QuiverJdbc.java PORT). It reads every Quiver type through the
// matching ResultSet getter, runs prepared statements with parameters and
// updates, and walks DatabaseMetaData; each finding is printed as one
// "key<TAB>value" line for the Python side to check. Any exception exits 1.
// With a second argument (java QuiverJdbc.java PORT "useEncryption=true&user=..."),
// it connects to localhost with those URL properties instead (a quiverd with
// --users and TLS) and runs the short secured() check.
import java.sql.*;
import java.util.*;

public class QuiverJdbc {
    static void out(String k, Object v) {
        System.out.println(k + "\t" + String.valueOf(v).replace("\n", "\\n"));
    }

    /* Logged in as a write user over TLS: query, create, insert; DROP is refused. */
    static void secured(String port, String props) throws Exception {
        String url = "jdbc:arrow-flight-sql://localhost:" + port + "/?" + props;
        try (Connection cn = DriverManager.getConnection(url); Statement st = cn.createStatement()) {
            try (ResultSet rs = st.executeQuery("SELECT count(*) FROM trades")) {
                rs.next();
                out("secure.count", rs.getLong(1));
            }
            st.executeUpdate("CREATE TABLE jdbc_sec (v BIGINT)");
            out("secure.insert", st.executeUpdate("INSERT INTO jdbc_sec VALUES (1), (2)"));
            try {
                st.executeUpdate("DROP TABLE jdbc_sec");
                out("secure.drop", "allowed");
            } catch (SQLException e) {
                out("secure.drop", e.getMessage());
            }
        }
        out("done", "ok");
    }

    public static void main(String[] args) throws Exception {
        if (args.length > 1) {
            secured(args[0], args[1]);
            return;
        }
        String url = "jdbc:arrow-flight-sql://127.0.0.1:" + args[0] + "/?useEncryption=false";
        try (Connection cn = DriverManager.getConnection(url)) {
            try (Statement st = cn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT * FROM alltypes ORDER BY i64 LIMIT 5")) {
                ResultSetMetaData md = rs.getMetaData();
                for (int c = 1; c <= md.getColumnCount(); c++)
                    out("col." + md.getColumnName(c), md.getColumnTypeName(c) + "/" + md.isNullable(c));
                int r = 0;
                Calendar utc = Calendar.getInstance(TimeZone.getTimeZone("UTC"));
                while (rs.next()) {
                    int i32 = rs.getInt("i32");
                    out("r" + r + ".i32", rs.wasNull() ? "null" : i32);
                    out("r" + r + ".i64", rs.getLong("i64"));
                    float f32 = rs.getFloat("f32");
                    out("r" + r + ".f32", rs.wasNull() ? "null" : f32);
                    out("r" + r + ".f64", rs.getDouble("f64"));
                    boolean b = rs.getBoolean("b");
                    out("r" + r + ".b", rs.wasNull() ? "null" : b);
                    out("r" + r + ".s", rs.getString("s"));
                    Timestamp ts = rs.getTimestamp("ts", utc);
                    out("r" + r + ".ts", ts.getTime() + "/" + ts.getNanos());
                    Timestamp tsn = rs.getTimestamp("tsn");
                    out("r" + r + ".tsn", tsn == null ? "null" : tsn.getNanos());
                    r++;
                }
                out("rows", r);
            }
            try (Statement st = cn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT symbol, ts FROM trades ORDER BY ts LIMIT 1")) {
                rs.next(); /* SYMBOL leaves the server as utf8 */
                out("symbol", rs.getString("symbol") + "/" + rs.getMetaData().getColumnTypeName(1));
            }
            try (PreparedStatement ps = cn.prepareStatement("SELECT s FROM alltypes WHERE i64 = ?")) {
                ps.setLong(1, 3000000021L);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out("prepared.s", rs.getString(1));
                }
                ps.setLong(1, 4000000028L);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    out("prepared.s2", rs.getString(1));
                }
            }
            try (Statement st = cn.createStatement()) {
                st.executeUpdate("CREATE TABLE jdbc_t (id BIGINT, name VARCHAR)");
                out("update.insert", st.executeUpdate("INSERT INTO jdbc_t VALUES (1, 'a'), (2, 'b')"));
            }
            try (PreparedStatement ps = cn.prepareStatement("INSERT INTO jdbc_t VALUES (?, ?)")) {
                ps.setLong(1, 3);
                ps.setString(2, "c");
                out("update.prepared", ps.executeUpdate());
            }
            try (Statement st = cn.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM jdbc_t")) {
                rs.next();
                out("jdbc_t.count", rs.getLong(1));
            }
            DatabaseMetaData dm = cn.getMetaData();
            out("meta.product", dm.getDatabaseProductName());
            List<String> l = new ArrayList<>();
            try (ResultSet rs = dm.getCatalogs()) { while (rs.next()) l.add(rs.getString("TABLE_CAT")); }
            out("meta.catalogs", l);
            l = new ArrayList<>();
            try (ResultSet rs = dm.getSchemas()) { while (rs.next()) l.add(rs.getString("TABLE_SCHEM")); }
            out("meta.schemas", l);
            l = new ArrayList<>();
            try (ResultSet rs = dm.getTables(null, null, "%", null)) { while (rs.next()) l.add(rs.getString("TABLE_NAME")); }
            out("meta.tables", l);
            l = new ArrayList<>();
            try (ResultSet rs = dm.getColumns(null, null, "alltypes", "%")) {
                while (rs.next()) l.add(rs.getString("COLUMN_NAME") + ":" + rs.getInt("DATA_TYPE"));
            }
            out("meta.columns", l);
            l = new ArrayList<>();
            try (ResultSet rs = dm.getTableTypes()) { while (rs.next()) l.add(rs.getString(1)); }
            out("meta.table_types", l);
            out("meta.quote", dm.getIdentifierQuoteString());
            out("meta.keywords", dm.getSQLKeywords());
        }
        out("done", "ok");
    }
}
