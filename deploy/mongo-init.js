// Initiate replica set rs0 with three voting members, then wait for a primary.
try {
  rs.status();
  print("replica set rs0 already initiated");
} catch (e) {
  rs.initiate({_id: "rs0", members: [
    {_id: 0, host: "mongo1:27017"}, {_id: 1, host: "mongo2:27017"}, {_id: 2, host: "mongo3:27017"}]});
}
// Every write waits for a majority unless the client says otherwise.
db.adminCommand({setDefaultRWConcern: 1, defaultWriteConcern: {w: "majority"}});
while (!db.hello().isWritablePrimary && !db.hello().primary) { sleep(500); }
print("primary: " + db.hello().primary);
