-- MariaDB dump 10.19  Distrib 10.5.29-MariaDB, for debian-linux-gnu (x86_64)
--
-- Host: localhost    Database: jawiki
-- ------------------------------------------------------
-- Server version	10.11.13-MariaDB-log
-- wikidrop sample data: this project's own made-up page_props for samples/jawiki-20261101-pages-articles.xml.bz2

/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

DROP TABLE IF EXISTS `page_props`;
CREATE TABLE `page_props` (
  `pp_page` int(10) unsigned NOT NULL,
  `pp_propname` varbinary(60) NOT NULL DEFAULT '',
  `pp_value` blob NOT NULL,
  `pp_sortkey` float DEFAULT NULL,
  PRIMARY KEY (`pp_page`,`pp_propname`),
  UNIQUE KEY `pp_propname_page` (`pp_propname`,`pp_page`),
  UNIQUE KEY `pp_propname_sortkey_page` (`pp_propname`,`pp_sortkey`,`pp_page`)
) ENGINE=InnoDB DEFAULT CHARSET=binary ROW_FORMAT=COMPRESSED;

/*!40000 ALTER TABLE `page_props` DISABLE KEYS */;
INSERT INTO `page_props` VALUES (5,'page_image_free','河口湖から望む富士山.jpg',NULL),(5,'wikibase_item','Q39231',NULL),(6,'kartographer_frames','1',NULL),(6,'wikibase_item','Q1490',NULL),(7,'wikibase_item','Q34600',NULL),(8,'defaultsort','とくかわ いえやす',NULL),(8,'wikibase_item','Q171977',NULL),(9,'defaultsort','けんしものかたり',NULL),(9,'wikibase_item','Q195143',NULL),(10,'defaultsort','むらさきしきふ',NULL),(10,'wikibase_item','Q81731',NULL),(11,'wikibase_item','Q46383',NULL),(12,'wikibase_item','Q188488',NULL),(13,'wikibase_item','Q272',NULL);
INSERT INTO `page_props` VALUES (14,'wikibase_item','Q734993',NULL),(15,'wikibase_item','Q35765',NULL),(16,'wikibase_item','Q1037393',NULL),(17,'defaultsort','なつめ そうせき',NULL),(17,'wikibase_item','Q160566',NULL),(18,'wikibase_item','Q180120',NULL),(19,'disambiguation','',NULL),(19,'wikibase_item','Q224426',NULL),(20,'wikibase_item','Q308',NULL),(21,'wikibase_item','Q925',NULL),(22,'notoc','',NULL),(22,'wikibase_item','Q1201937',NULL),(27,'wikibase_item','Q5899496',NULL),(29,'wikibase_item','Q6523049',NULL),(30,'wikibase_item','Q13228',NULL);
/*!40000 ALTER TABLE `page_props` ENABLE KEYS */;

-- Dump completed on 2026-11-02  3:14:15
